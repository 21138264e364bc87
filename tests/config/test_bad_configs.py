"""Each kind of mistake gives one precise, located message: `file:line: key.path: message`."""

from __future__ import annotations

import pytest

from okrbridge.config import ConfigError, ConfigProblem
from tests.config.conftest import Loader
from tests.config.helpers import BASE, ENV, edit, line_of, problem_at, problems_of

KR0 = "objectives[0].key_results[0]"
KR1 = "objectives[0].key_results[1]"
RULE = "initiatives[0].match[0]"
RULE_LINE = '{ connector = "jira-mkt", container = "MKT"'
RULE_TEXT = '{ connector = "jira-mkt", container = "MKT", labels_any = ["reviews"] }'

# (case id, old text, new text, key path, text on the expected line (or that and a line offset),
# gist of the message)
CASES = [
    (
        "wrong-type",
        "target = 85",
        'target = "lots"',
        f"{KR0}.target",
        'target = "lots"',
        "Input should be a valid number",
    ),
    (
        "missing-target",
        "target = 250000\n",
        "",
        f"{KR1}.target",
        ('id = "kr-installs"', -1),
        "required key 'target' is missing",
    ),
    (
        "end-before-start",
        "end = 2026-12-31",
        "end = 2026-09-01",
        "objectives[0].end",
        "end = 2026-09-01",
        "end 2026-09-01 is not after start 2026-10-01",
    ),
    (
        "start-equals-target",
        "target = 85",
        "target = 60",
        f"{KR0}.target",
        "target = 60",
        "start and target are equal",
    ),
    (
        "direction-contradicts",
        'source = "initiatives"',
        'source = "initiatives"\ndirection = "decrease"',
        f"{KR0}.direction",
        "direction = ",
        "target 85 is above start 60",
    ),
    (
        "unknown-kr-link",
        '[{ id = "kr-reviews" }]',
        '[{ id = "kr-reviews" }, { id = "kr-revues" }]',
        "initiatives[0].key_results[1].id",
        '{ id = "kr-revues" }',
        "unknown key result 'kr-revues' (did you mean 'kr-reviews'?)",
    ),
    (
        "duplicate-kr",
        'id = "kr-installs"',
        'id = "kr-reviews"',
        f"{KR1}.id",
        ('title = "Installs"', -1),
        "duplicate key result id 'kr-reviews' (already used at " + KR0,
    ),
    (
        "invalid-regex",
        'labels_any = ["reviews"] }',
        'title_regex = "(unclosed" }',
        f"{RULE}.title_regex",
        "(unclosed",
        "invalid regular expression: missing ), unterminated",
    ),
    (
        "bad-duration",
        "[push]",
        '[schedule]\npull_interval = "5 minutes"\n[push]',
        "schedule.pull_interval",
        "pull_interval",
        "'5 minutes' is not a duration such as '30s'",
    ),
    (
        "bad-url",
        'base_url = "https://acme.atlassian.net"',
        'base_url = "acme.atlassian.net"',
        "connectors.jira-mkt.base_url",
        "base_url",
        "'acme.atlassian.net' is not an http(s) URL",
    ),
    (
        "unknown-connector-type",
        'type = "jira"',
        'type = "jiraa"',
        "connectors.jira-mkt.type",
        'type = "jiraa"',
        "unknown connector type 'jiraa' (known: github, jira, trello) (did you mean 'jira'?)",
    ),
    (
        "missing-connector-type",
        'type = "jira"\n',
        "",
        "connectors.jira-mkt.type",
        "[connectors.jira-mkt]",
        "needs `type` = the connector type (known: github, jira, trello)",
    ),
    (
        "bad-status-category",
        RULE_TEXT,
        RULE_TEXT[:-2] + ', status_category = "finished" }',
        f"{RULE}.status_category",
        RULE_LINE,
        "invalid value 'finished': expected 'todo', 'in_progress' or 'done'",
    ),
    (
        "bad-status-category-in-list",
        RULE_TEXT,
        RULE_TEXT[:-2] + ', status_category = ["dnoe"] }',
        f"{RULE}.status_category[0]",
        RULE_LINE,
        "invalid value 'dnoe'",
    ),
    (
        "bad-metric",
        'metric = "percent"',
        'metric = "percentage"',
        f"{KR0}.metric",
        "metric = ",
        "invalid value 'percentage': expected 'number', 'percent', 'currency' or "
        "'boolean' (did you mean 'percent'?)",
    ),
    (
        "global-tolerance-range",
        "[push]",
        "[engine]\ntolerance = 1.5\n[push]",
        "engine.tolerance",
        "tolerance = 1.5",
        "less than or equal to 1",
    ),
    (
        "kr-tolerance-range",
        "target = 250000",
        "target = 250000\ntolerance = -0.1",
        f"{KR1}.tolerance",
        "tolerance = -0.1",
        "greater than or equal to 0",
    ),
    (
        "label-prefix-spaces",
        'label_prefix = "okr:"',
        'label_prefix = "okr status:"',
        "push.label_prefix",
        "label_prefix",
        "must be non-empty and contain no spaces",
    ),
    (
        "unknown-section",
        "[push]",
        "[stroe]\nurl = 'x'\n[push]",
        "stroe",
        "[stroe]",
        "unknown key 'stroe' (did you mean 'store'?)",
    ),
    (
        "unknown-connector-key",
        'token_env = "JIRA_API_TOKEN"',
        'tokn_env = "JIRA_API_TOKEN"',
        "connectors.jira-mkt.tokn_env",
        "tokn_env",
        "unknown key 'tokn_env' (did you mean 'token_env'?)",
    ),
    (
        "unknown-key-no-suggestion",
        'title = "Installs"',
        'title = "Installs"\ncolour = "red"',
        f"{KR1}.colour",
        "colour",
        "unknown key 'colour' (allowed keys: id, title, metric,",
    ),
    (
        "unlinked-initiatives-kr",
        '[{ id = "kr-reviews" }]',
        '[{ id = "kr-installs" }]',
        f"{KR0}.source",
        'source = "initiatives"',
        "no initiative links to key result 'kr-reviews'",
    ),
    (
        "unknown-connector-instance",
        'connector = "jira-mkt"',
        'connector = "jira-mtk"',
        f"{RULE}.connector",
        "jira-mtk",
        "unknown connector instance 'jira-mtk' (did you mean 'jira-mkt'?)",
    ),
    (
        "initiative-id-is-status",
        'id = "review-campaign"',
        'id = "on-track"',
        "initiatives[0].id",
        'id = "on-track"',
        "initiative id 'on-track' is also a status label ('okr:on-track')",
    ),
    (
        "tasks-source-without-rule",
        'title = "Installs"',
        'title = "Installs"\nsource = "tasks"',
        f"{KR1}.source",
        'source = "tasks"',
        'source = "tasks" needs a `tasks` match rule',
    ),
    (
        "container-wrong-type",
        'container = "MKT"',
        "container = 5",
        f"{RULE}.container",
        "container = 5",
        "Input should be a valid string or a valid list (got int 5)",
    ),
    (
        "port-out-of-range",
        "[push]",
        "[web]\nport = 70000\n[push]",
        "web.port",
        "port = 70000",
        "less than or equal to 65535",
    ),
    (
        "checkpoint-outside-timeframe",
        'title = "Installs"',
        'title = "Installs"\nplan = [{ date = 2027-02-01, value = 9 }]',
        f"{KR1}.plan[0].date",
        "plan = ",
        "checkpoint date 2027-02-01 is outside the objective's timeframe",
    ),
    (
        "target-mode-without-target",
        'title = "Campaign"',
        'title = "Campaign"\nprogress = "target"',
        "initiatives[0].progress",
        'progress = "target"',
        'progress = "target" needs `target`',
    ),
    (
        "table-instead-of-array",
        "[[initiatives]]",
        "[initiatives]",
        "initiatives",
        "[initiatives]",
        "expected an array, got a table (for a list of tables write [[initiatives]])",
    ),
    (
        "scalar-instead-of-table",
        '[push]\nlabel_prefix = "okr:"',
        'push = "okr:"',
        "push",
        "push = ",
        "expected a table ([push] or { key = value }), got a string",
    ),
    (
        "scalar-instead-of-match-rule",
        f"  {RULE_TEXT},",
        '  "jira-mkt",',
        RULE,
        '"jira-mkt",',
        "expected a table ([initiatives.match] or { key = value }), got a string",
    ),
    (
        "duplicate-kr-link",
        '[{ id = "kr-reviews" }]',
        '[{ id = "kr-reviews" }, { id = "kr-reviews" }]',
        "initiatives[0].key_results[1].id",
        "key_results = [",
        "key result 'kr-reviews' is linked twice",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "key", "line_text", "gist"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_one_mistake_one_precise_message(
    load: Loader, old: str, new: str, key: str, line_text: str | tuple[str, int], gist: str
) -> None:
    needle, offset = line_text if isinstance(line_text, tuple) else (line_text, 0)
    text = edit(BASE, old, new)
    problems = problems_of(load, text)
    assert [p.key for p in problems] == [key], [str(p) for p in problems]
    problem = problems[0]
    assert problem.file.endswith("okrbridge.toml")
    assert problem.line == line_of(text, needle) + offset
    assert gist in problem.message
    assert str(problem) == f"{problem.file}:{problem.line}: {key}: {problem.message}"


def test_typo_reports_the_unknown_key_and_the_missing_one(load: Loader) -> None:
    text = edit(BASE, "target = 85", "taget = 85")
    problems = problems_of(load, text)
    typo = problem_at(problems, f"{KR0}.taget")
    assert typo.message == "unknown key 'taget' (did you mean 'target'?)"
    assert typo.line == line_of(text, "taget = 85")
    missing = problem_at(problems, f"{KR0}.target")
    assert missing.line == line_of(text, 'title = "Reviews"') - 2  # the table header
    assert len(problems) == 2


def test_duplicate_objective_and_initiative_ids(load: Loader) -> None:
    second_objective = BASE.split("[[initiatives]]")[0].split("[connectors.jira-mkt]")[1]
    second_objective = second_objective[second_objective.index("[[objectives]]") :]
    second_objective = second_objective.replace('"kr-reviews"', '"kr-reviews-2"')
    second_objective = second_objective.replace('"kr-installs"', '"kr-installs-2"')
    initiative = BASE[BASE.index("[[initiatives]]") :]
    text = BASE + "\n" + second_objective + "\n" + initiative.replace("kr-reviews", "kr-reviews-2")
    problems = problems_of(load, text)
    assert [(p.key, p.message) for p in problems] == [
        ("objectives[1].id", "duplicate objective id 'grow' (already used at objectives[0])"),
        (
            "initiatives[1].id",
            "duplicate initiative id 'review-campaign' (already used at initiatives[0])",
        ),
    ]
    lines = [n for n, line in enumerate(text.splitlines(), 1) if line == 'id = "grow"']
    assert problems[0].line == lines[1]
    lines = [n for n, line in enumerate(text.splitlines(), 1) if line == 'id = "review-campaign"']
    assert problems[1].line == lines[1]


def test_bad_instance_name(load: Loader) -> None:
    text = BASE.replace("jira-mkt", "Jira MKT").replace(
        "[connectors.Jira MKT]", '[connectors."Jira MKT"]'
    )
    problems = problems_of(load, text)
    problem = problem_at(problems, 'connectors."Jira MKT"')
    assert problem.line == line_of(text, '[connectors."Jira MKT"]')
    assert problem.message.startswith("invalid instance name 'Jira MKT': use lower-case letters")
    assert len(problems) == 1  # the match rule that names it is not also reported


def test_unset_secret_names_instance_setting_and_variable(load: Loader) -> None:
    problems = problems_of(load, BASE, env={"JIRA_EMAIL": "pm@acme.test", "JIRA_API_TOKEN": ""})
    assert len(problems) == 1
    problem = problems[0]
    assert problem.key == "connectors.jira-mkt.token_env"
    assert problem.line == line_of(BASE, "token_env")
    assert "JIRA_API_TOKEN is not set or empty" in problem.message
    assert "connector 'jira-mkt'" in problem.message


def test_disabled_connector_needs_no_secret_but_is_still_validated(load: Loader) -> None:
    disabled = edit(BASE, 'type = "jira"', 'type = "jira"\nenabled = false')
    loaded = load(disabled, env={})
    assert loaded.config.connectors["jira-mkt"].enabled is False
    problems = problems_of(load, edit(disabled, "jql =", "jqll ="), env={})
    assert [(p.line, p.key) for p in problems] == [
        (line_of(disabled, "[connectors.jira-mkt]"), "connectors.jira-mkt.jql"),
        (line_of(disabled, "jql ="), "connectors.jira-mkt.jqll"),
    ]


def test_every_problem_in_one_file_is_reported_in_line_order(load: Loader) -> None:
    text = edit(BASE, "[push]", "[stroe]\n[web]\nport = 0\n[push]")
    text = edit(text, 'type = "jira"', 'type = "jira"\nauth = "cloudy"')
    text = edit(text, "end = 2026-12-31", "end = 2026-01-31")
    text = edit(text, 'metric = "percent"', 'metric = "percentage"')
    text = edit(text, "target = 250000", "target = 250000\nweight = 0")
    text = edit(text, 'id = "review-campaign"', 'id = "off-track"')
    text = edit(text, 'container = "MKT"', 'container = "MKT", title_regex = "[z-a]"')
    problems = problems_of(load, text, env={})
    assert [(p.line, p.key) for p in problems] == [
        (line_of(text, "[stroe]"), "stroe"),
        (line_of(text, "port = 0"), "web.port"),
        (line_of(text, "auth ="), "connectors.jira-mkt.auth"),
        (line_of(text, "end = "), "objectives[0].end"),
        (line_of(text, "metric = "), f"{KR0}.metric"),
        (line_of(text, "weight = 0"), f"{KR1}.weight"),
        (line_of(text, 'id = "off-track"'), "initiatives[0].id"),
        (line_of(text, "title_regex"), f"{RULE}.title_regex"),
    ]


def test_secret_values_never_appear_in_messages(load: Loader) -> None:
    text = edit(BASE, "jql =", "jqll =")
    problems = problems_of(load, text, env=ENV)
    assert all(ENV["JIRA_API_TOKEN"] not in str(p) for p in problems)


@pytest.mark.parametrize("drop", range(len(BASE.splitlines())))
def test_any_line_removed_gives_located_problems_or_a_config(load: Loader, drop: int) -> None:
    lines = BASE.splitlines()
    text = "\n".join(lines[:drop] + lines[drop + 1 :]) + "\n"
    problems: list[ConfigProblem] = []
    try:
        load(text, env=ENV)  # a blank line or an optional key: still a valid config
    except ConfigError as exc:  # anything else: only ConfigError, every problem located
        problems = exc.problems
    assert all(p.line is not None and 1 <= p.line <= len(lines) for p in problems)
