"""The simulator is a second reading of GitHub's API, not a mirror of the connector: it imports
no connector code, signs as GitHub documents, and sends payloads built on GitHub's examples."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from connectors.github.simulator import _signature
from okrbridge.domain import StatusCategory
from okrbridge.sandbox.tool import SeedTask

SIMULATOR = Path(__file__).resolve().parents[3] / "connectors" / "github" / "simulator"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_simulator_imports_no_connector_code() -> None:
    imported = {name for path in SIMULATOR.glob("*.py") for name in _imports(path)}
    ours = {n for n in imported if n.startswith("connectors.")}
    assert ours
    assert all(n.startswith("connectors.github.simulator") for n in ours)
    assert not {n for n in imported if n.startswith("okrbridge.connector")}


def test_signature_matches_githubs_documented_vector() -> None:
    expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert _signature("It's a Secret to Everybody", b"Hello, World!") == f"sha256={expected}"


def test_deliveries_keep_the_shape_of_githubs_examples(sim: Any) -> None:
    received: list[tuple[dict[str, str], dict[str, Any]]] = []
    sim.set_webhook_sink("http://x/hook", lambda _u, h, b: received.append((h, json.loads(b))))
    issue = sim.add_task(SeedTask("a task", "acme/app"))
    sim.set_labels(issue, ("bug",))
    comment = sim.add_comment(issue, "hello")
    sim.delete_comment(comment)
    sim.set_status(issue, StatusCategory.DONE)
    names = [f"{h['x-github-event']}.{p['action']}" for h, p in received]
    assert names == [
        "issues.labeled",
        "issue_comment.created",
        "issue_comment.deleted",
        "projects_v2_item.edited",
    ]
    labeled = received[0][1]
    assert labeled["issue"]["node_id"] == issue
    assert labeled["label"]["name"] == "bug"
    assert "pull_request" not in labeled["issue"]
    # Keys the simulator does not model come from GitHub's recorded example.
    assert labeled["issue"]["reactions"]["url"]
    assert labeled["repository"]["full_name"] == "acme/app"
    assert labeled["organization"]["login"] == "acme"
    edited = received[3][1]
    assert set(edited["changes"]["field_value"]) == {"field_node_id", "field_type"}
    assert all(
        h["x-hub-signature-256"] == _signature(sim.secret, json.dumps(p).encode())
        for h, p in received
    )
