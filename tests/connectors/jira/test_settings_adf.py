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
