"""The daemon's ASGI app (FastAPI): webhook receiver, health, readiness, metrics."""

from okrbridge.web.app import create_app
from okrbridge.web.state import WebState

__all__ = ["WebState", "create_app"]
