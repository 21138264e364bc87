"""Trello connector: cards of configured boards, pulled incrementally through board actions;
the bridge's status label and one edited comment pushed back to each card."""

from __future__ import annotations

from .connector import TrelloConnector
from .settings import TrelloSettings

__all__ = ["TrelloConnector", "TrelloSettings"]
