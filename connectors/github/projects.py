"""Project metadata (node id, web URL, fields and single-select options), read once per
connector instance and cached: the push needs field and option ids, webhooks the project ids."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from connectors.github.client import GitHubClient
from connectors.github.queries import for_owner
from connectors.github.settings import GitHubSettings
from okrbridge.connector.errors import RequestFailed

__all__ = ["FieldMeta", "ProjectDirectory", "ProjectMeta"]


@dataclass(frozen=True)
class FieldMeta:
    id: str
    name: str
    data_type: str
    options: dict[str, str] = field(default_factory=dict)
    """Single-select option name -> option id."""


@dataclass(frozen=True)
class ProjectMeta:
    id: str
    number: int
    title: str
    url: str
    fields: dict[str, FieldMeta]


class ProjectDirectory:
    """Lazily loaded metadata of the configured projects (1 GraphQL point per project)."""

    def __init__(self, instance: str, settings: GitHubSettings, client: GitHubClient) -> None:
        self.instance = instance
        self.settings = settings
        self.client = client
        self._by_number: dict[int, ProjectMeta] = {}
        self._lock = threading.Lock()

    def by_number(self, number: int) -> ProjectMeta:
        with self._lock:
            if number not in self._by_number:
                self._by_number[number] = self._load(number)
            return self._by_number[number]

    def by_id(self, project_id: str) -> ProjectMeta | None:
        for number in self.settings.projects:
            meta = self.by_number(number)
            if meta.id == project_id:
                return meta
        return None

    def ids(self) -> set[str]:
        """Node ids of every configured project (loads what is missing)."""
        return {self.by_number(n).id for n in self.settings.projects}

    def bridge_field_ids(self) -> set[str]:
        """Ids of the draft status field in the loaded projects (for echo detection)."""
        name = self.settings.kr_status_field
        with self._lock:
            metas = list(self._by_number.values())
        return {m.fields[name].id for m in metas if name and name in m.fields}

    def _load(self, number: int) -> ProjectMeta:
        operation = for_owner("project_meta", self.settings.owner_type)
        data = self.client.graphql(operation, {"owner": self.settings.owner, "number": number})
        owner = data.get("organization") or data.get("user") or {}
        project = owner.get("projectV2") if isinstance(owner, dict) else None
        if not isinstance(project, dict):
            raise RequestFailed(
                self.instance,
                f"project {number} of {self.settings.owner_type} {self.settings.owner!r} was "
                "not found or the token cannot read it (needs read:project)",
                status=404,
            )
        return ProjectMeta(
            id=str(project["id"]),
            number=int(project["number"]),
            title=str(project.get("title", "")),
            url=str(project.get("url", "")),
            fields=_fields(project),
        )


def _fields(project: dict[str, Any]) -> dict[str, FieldMeta]:
    out: dict[str, FieldMeta] = {}
    for node in (project.get("fields") or {}).get("nodes") or []:
        if not isinstance(node, dict) or not node.get("name"):
            continue
        options = {str(o["name"]): str(o["id"]) for o in node.get("options") or []}
        out[str(node["name"])] = FieldMeta(
            str(node["id"]), str(node["name"]), str(node.get("dataType", "")), options
        )
    return out
