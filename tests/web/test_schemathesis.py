"""Schemathesis against the app's own OpenAPI schema: no operation answers 500 on any input."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okrbridge.config.schema import Config, WebSettings
from okrbridge.runtime.inbox_writer import InboxWriter
from okrbridge.runtime.metrics import DaemonMetrics
from okrbridge.scheduler.health import HealthBoard
from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from okrbridge.web import WebState, create_app
from tests.support.memory import MemoryConnector, MemorySettings, MemoryTool


def _app(tmp: Path) -> tuple[object, InboxWriter]:
    store = Store(f"sqlite:///{tmp / 'schema.sqlite3'}")
    upgrade(store)
    tool = MemoryTool()
    settings_ = MemorySettings(**tool.settings("http://127.0.0.1:9"))
    connector = MemoryConnector("mem", settings_, tool.env())
    config = Config(connectors={"mem": settings_}, web=WebSettings(max_body_bytes=4096))
    writer = InboxWriter(store)
    writer.start()
    metrics = DaemonMetrics(store)
    state = WebState(config, store, {"mem": connector}, writer, metrics, HealthBoard(["mem"]))
    return create_app(state), writer


def test_no_operation_answers_500(tmp_path: Path) -> None:
    app, writer = _app(tmp_path)
    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.path for op in operations} >= {"/webhooks/{instance}", "/readyz", "/metrics"}
        for operation in operations:
            _check(operation.as_strategy())
    finally:
        writer.stop()


def _check(strategy: st.SearchStrategy[schemathesis.Case]) -> None:
    @given(case=strategy)
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        response = case.call()
        assert response.status_code < 500, (case.method, case.path, response.text)

    run()
