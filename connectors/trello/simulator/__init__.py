"""A simulated Trello REST API (ASGI) over in-memory data, with its tool-neutral handle."""

from __future__ import annotations

from .handle import API_KEY, APP_SECRET, BOT_TOKEN, PERSON_TOKEN, TrelloSimulator
from .ratelimit import Limits, RateLimiter
from .state import BOT, PERSON, TrelloState

__all__ = [
    "API_KEY",
    "APP_SECRET",
    "BOT",
    "BOT_TOKEN",
    "PERSON",
    "PERSON_TOKEN",
    "Limits",
    "RateLimiter",
    "TrelloSimulator",
    "TrelloState",
]
