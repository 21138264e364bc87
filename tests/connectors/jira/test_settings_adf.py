"""Settings validation and the Markdown -> ADF renderer."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors.jira import JiraSettings
from connectors.jira.adf import adf_text, markdown_to_adf

BASE = {"type": "jira", "base_url": "https://example.atlassian.net/"}


@pytest.mark.parametrize("jql", ["", "   ", "ORDER BY updated DESC", "order by key"])
def test_unbounded_jql_is_refused(jql: str) -> None:
    with pytest.raises(ValidationError, match="unbounded"):
        JiraSettings(**BASE, jql=jql)


def test_cloud_defaults_name_only_cloud_variables() -> None:
    settings = JiraSettings(**BASE, jql="project in (MKT, GAME) ORDER BY rank")
    assert settings.env_fields() == {"email_env": "JIRA_EMAIL", "token_env": "JIRA_API_TOKEN"}
    assert settings.scope_jql == "project in (MKT, GAME)"
    assert settings.base_url == "https://example.atlassian.net"


def test_datacenter_uses_a_pat_variable() -> None:
    settings = JiraSettings(**BASE, jql="project = OPS", auth="datacenter", pat_env="MY_PAT")
    assert settings.env_fields() == {"pat_env": "MY_PAT"}


def test_api_version_is_fixed() -> None:
    with pytest.raises(ValidationError):
        JiraSettings(**BASE, jql="project = OPS", api_version="2")


SAMPLE = """**OKR status: On track** — Grow our new mobile game from launch to leader
Initiative: Multi-channel campaign for App Store reviews (38% done)
- >4 stars on over 85% of App Store reviews: 71% of 85% target — on track
  3 of 8 tasks done (38%), 47% of the quarter elapsed, tolerance 10% -> on track
Forecast: 86% by 2026-12-31

See [the dashboard](https://okr.example.com/kr/1)"""


def test_sample_comment_renders_bold_list_and_link() -> None:
    doc = markdown_to_adf(SAMPLE)
    assert doc["type"] == "doc"
    assert doc["version"] == 1
    first, bullets, forecast, link_para = doc["content"]
    assert first["type"] == "paragraph"
    assert first["content"][0] == {
        "type": "text",
        "text": "OKR status: On track",
        "marks": [{"type": "strong"}],
    }
    assert {"type": "hardBreak"} in first["content"]
    assert bullets["type"] == "bulletList"
    item = bullets["content"][0]["content"][0]["content"]
    assert item[0]["text"].startswith(">4 stars")
    assert item[1] == {"type": "hardBreak"}
    assert item[2]["text"].startswith("3 of 8 tasks done")
    assert forecast["content"][0]["text"] == "Forecast: 86% by 2026-12-31"
    link = link_para["content"][1]
    assert link["marks"] == [{"type": "link", "attrs": {"href": "https://okr.example.com/kr/1"}}]


def test_nested_bullets_and_unsafe_links() -> None:
    doc = markdown_to_adf("- a\n  - b\n- c [x](javascript:alert(1))")
    outer = doc["content"][0]
    assert [i["type"] for i in outer["content"]] == ["listItem", "listItem"]
    assert outer["content"][0]["content"][1]["type"] == "bulletList"
    assert "marks" not in outer["content"][1]["content"][0]["content"][-1]
    assert adf_text(doc).splitlines()[0] == "- a"


@pytest.mark.parametrize(
    ("url", "site"),
    [
        ("https://acme.atlassian.net/rest/api/3", "https://acme.atlassian.net"),
        ("https://acme.atlassian.net/rest/api/2/", "https://acme.atlassian.net"),
        ("https://jira.example.com/jira/rest", "https://jira.example.com/jira"),
    ],
)
def test_an_api_path_in_base_url_says_which_url_to_write(url: str, site: str) -> None:
    with pytest.raises(ValidationError) as caught:
        JiraSettings(type="jira", base_url=url, jql="project = OPS")
    assert f'write base_url = "{site}"' in str(caught.value)


def test_a_site_under_a_context_path_is_fine() -> None:
    settings = JiraSettings(type="jira", base_url="https://x.example/restricted", jql="project = A")
    assert settings.base_url == "https://x.example/restricted"


def test_the_cores_underscore_footer_is_emphasis_not_literal_underscores() -> None:
    doc = markdown_to_adf("_Updated by okrbridge when a status or value changes._ a snake_case")
    [paragraph] = doc["content"]
    first, rest = paragraph["content"]
    assert first == {
        "type": "text",
        "text": "Updated by okrbridge when a status or value changes.",
        "marks": [{"type": "em"}],
    }
    assert rest == {"type": "text", "text": " a snake_case"}
    assert "_" not in adf_text(doc).split(" a ")[0]


def test_the_simulator_imports_nothing_of_the_connector() -> None:
    """The simulator is a second reading of Jira's documentation, not a mirror of our code."""
    import ast
    from pathlib import Path

    import connectors.jira.simulator as simulator

    for path in Path(simulator.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                assert node.level <= 1, f"{path.name} imports from the connector"
                assert not module.startswith("connectors.jira") or ".simulator" in module, (
                    f"{path.name} imports {module}"
                )


def test_the_simulator_reads_the_connectors_comment_as_a_reader_sees_it() -> None:
    from connectors.jira.simulator.adf import check_document, plain_text

    doc = markdown_to_adf(SAMPLE + "\n\n_Updated by okrbridge._")
    assert check_document(doc) is None
    text = plain_text(doc)
    assert "Updated by okrbridge." in text
    assert "_" not in text.replace("snake_case", "")
    assert "**" not in text
