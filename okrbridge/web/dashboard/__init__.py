"""The read-only OKR dashboard: objectives -> key results -> initiatives -> tasks, a burn-up
page per key result (`/kr/{id}`) and a page per connector instance (`/connectors/{name}`).

The daemon's app includes `router(state)`; `okrbridge serve-dashboard` serves `create_app`.
"""

from okrbridge.web.dashboard.app import create_dashboard_app
from okrbridge.web.dashboard.auth import DashboardAuth
from okrbridge.web.dashboard.routes import DashboardSource, router

__all__ = ["DashboardAuth", "DashboardSource", "create_dashboard_app", "router"]
