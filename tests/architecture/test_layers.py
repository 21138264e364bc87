"""The core's packages import one way: a new cycle between them fails here."""

from __future__ import annotations

from tests.architecture.imports import cycles, package_graph


def test_no_import_cycle_between_the_cores_packages() -> None:
    found = cycles(package_graph())
    assert found == [], f"import cycles between okrbridge packages: {found}"


def test_the_core_never_imports_a_connector() -> None:
    graph = package_graph(include_external=True)
    offenders = {source for source, targets in graph.items() if "connectors" in targets}
    assert offenders == set()


def test_the_cycle_finder_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
