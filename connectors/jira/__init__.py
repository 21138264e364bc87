"""Jira connector: Jira Cloud / Data Center issues in, status label and bot comment out."""

from .connector import JiraConnector
from .settings import JiraSettings

__all__ = ["JiraConnector", "JiraSettings"]
