"""Jira Cloud simulator: REST v2/v3 subset over in-memory data, with signed webhooks."""

from .tool import BOT, PERSON, JiraSimulator, RateLimit

__all__ = ["BOT", "PERSON", "JiraSimulator", "RateLimit"]
