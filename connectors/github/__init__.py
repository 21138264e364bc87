"""GitHub Projects (v2) connector: entry point `connectors.github:GitHubConnector`."""

from connectors.github.connector import GitHubConnector
from connectors.github.settings import GitHubSettings

__all__ = ["GitHubConnector", "GitHubSettings"]
