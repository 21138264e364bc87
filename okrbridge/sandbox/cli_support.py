"""Text for `okrbridge sandbox`: where each simulator listens, its credentials, its config."""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from okrbridge.sandbox._toml import dumps_table
from okrbridge.sandbox.tool import SimulatedTool

__all__ = ["config_snippet", "describe_sandbox"]


def config_snippet(name: str, url: str, tool: SimulatedTool) -> str:
    """The `[connectors.<name>]` TOML table pointing a connector instance at the simulator."""
    return dumps_table(["connectors", name], tool.settings(url))


def describe_sandbox(
    servers: Mapping[str, tuple[str, SimulatedTool]], full_config: str | None = None
) -> str:
    """Render, per simulator (instance name -> (url, tool)): URL, sandbox-only credentials
    as `export` lines, and the matching config table; then the whole config together:
    `full_config` when given (a complete file whose initiatives match the seeded data), else
    the connector tables alone."""
    sections: list[str] = []
    snippets: list[str] = []
    for name, (url, tool) in servers.items():
        snippet = config_snippet(name, url, tool)
        snippets.append(snippet)
        env = tool.env()
        lines = [f"== {name} simulator ==", f"URL: {url}"]
        if env:
            lines.append("Credentials (fake, valid only against this sandbox):")
            lines += [f"  export {key}={shlex.quote(value)}" for key, value in sorted(env.items())]
        lines.append("Config:")
        lines += [f"  {line}" if line else "" for line in snippet.splitlines()]
        sections.append("\n".join(lines))
    if full_config is not None:
        sections.append(
            "== okrbridge.toml (complete: store, OKRs matching the seeded tasks, every "
            "connector) ==\n" + full_config.rstrip("\n")
        )
    elif len(snippets) > 1:
        sections.append("== okrbridge.toml (all connectors) ==\n" + "\n\n".join(snippets))
    return "\n\n".join(sections) + "\n"
