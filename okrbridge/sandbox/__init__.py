"""Shared harness for tool simulators: serving, latency, faults, request log, webhook delivery.

Simulators (one per connector, in `connectors/<tool>/simulator/`) implement `SimulatedTool`;
tests, `okrbridge demo` and `okrbridge sandbox` serve them with `SandboxServer`.
"""

from okrbridge.sandbox.cli_support import config_snippet, describe_sandbox
from okrbridge.sandbox.faults import FaultKind, FaultPlan
from okrbridge.sandbox.harness import SandboxServer, serve_many
from okrbridge.sandbox.middleware import WRITE_STATE_KEY, Latency, SandboxMiddleware
from okrbridge.sandbox.requestlog import LoggedRequest, RequestLog
from okrbridge.sandbox.tool import (
    MarksInspection,
    SeedTask,
    SimComment,
    SimulatedTool,
    WebhookSink,
)
from okrbridge.sandbox.webhooks import Delivery, WebhookForwarder, ensure_loopback_url

__all__ = [
    "WRITE_STATE_KEY",
    "Delivery",
    "FaultKind",
    "FaultPlan",
    "Latency",
    "LoggedRequest",
    "MarksInspection",
    "RequestLog",
    "SandboxMiddleware",
    "SandboxServer",
    "SeedTask",
    "SimComment",
    "SimulatedTool",
    "WebhookForwarder",
    "WebhookSink",
    "config_snippet",
    "describe_sandbox",
    "ensure_loopback_url",
    "serve_many",
]
