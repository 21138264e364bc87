"""The single-select field the bridge sets on draft items: statuses <-> the field's options.

The core speaks status slugs (`on-track`); a project names its options as people do ("On
track", "At risk"). `status_options` in the settings (with common defaults) says which option
means which status, matched case-insensitively. Cleanup hands back whatever value the draft had
before the bridge's first write, which may be any option name: it is set as it is.
"""

from __future__ import annotations

from connectors.github.projects import FieldMeta
from connectors.github.settings import GitHubSettings
from okrbridge.domain import KRStatus

__all__ = ["StatusOptions"]


def _status(value: str) -> KRStatus | None:
    try:
        return KRStatus(value.replace("-", "_"))
    except ValueError:
        return None


class StatusOptions:
    """Option lookups for `kr_status_field` under one instance's settings."""

    def __init__(self, settings: GitHubSettings) -> None:
        self.settings = settings
        self._meaning = {
            name.casefold(): status for status in KRStatus for name in settings.options_for(status)
        }

    def option_for(self, field: FieldMeta, value: str) -> str | None:
        """The option to set for `value`: the option meaning a status slug, or an option of
        that name (a value given back by cleanup); None when the field has no such option."""
        status = _status(value)
        wanted = self.settings.options_for(status) if status is not None else (value,)
        by_folded = {option.casefold(): option for option in field.options}
        return next((by_folded[n.casefold()] for n in wanted if n.casefold() in by_folded), None)

    def value_of(self, option: str | None) -> str:
        """A draft's field value as the core sees it: the slug of the status its option means,
        else the option name as it is; "" when unset."""
        if not option:
            return ""
        status = self._meaning.get(option.casefold())
        return status.label_slug if status is not None else option

    def problems(self, where: str, field: FieldMeta | None) -> list[str]:
        """Why some status could not be written to this field (empty when all can)."""
        name = self.settings.kr_status_field
        if field is None:
            return [f"{where} has no field {name!r} (kr_status_field)"]
        if field.data_type != "SINGLE_SELECT":
            return [f"{where}: field {name!r} is {field.data_type}, not a single-select field"]
        existing = ", ".join(repr(o) for o in field.options) or "none"
        out = []
        for status in KRStatus:
            if self.option_for(field, status.label_slug) is None:
                looked = " or ".join(repr(n) for n in self.settings.options_for(status))
                out.append(
                    f"{where}: field {name!r} has no option for status {status.value} "
                    f"(looked for {looked}; its options: {existing}); add one, or name it "
                    f'with status_options = {{ {status.value} = "..." }}'
                )
        return out
