"""One daemon process: scheduler, inbox writer and worker, and the web app under uvicorn.

Start-up builds everything, `run()` serves until SIGTERM/SIGINT, then shuts down in order:
stop accepting requests (uvicorn lets in-flight ones finish), commit queued deliveries, let the
worker finish the delivery in hand, stop the scheduler (running syncs end after their
in-flight page or change), and return 0 within `grace` seconds. A thread still busy then (a
pull retrying against a dead tool, which no hook can interrupt) does not hold the process: it
exits anyway, and the run left `running` is closed as `interrupted` by the next one.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

import uvicorn
from apscheduler.executors.pool import ThreadPoolExecutor

from okrbridge.config.schema import Config
from okrbridge.connector.base import Connector
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.daemon.worker import InboxWorker
from okrbridge.domain import TaskRef
from okrbridge.logs import get_logger
from okrbridge.runtime.inbox_writer import InboxWriter
from okrbridge.runtime.metrics import DaemonMetrics
from okrbridge.scheduler import (
    Debouncer,
    HealthBoard,
    JobOutcome,
    Leases,
    SyncJobs,
    build_scheduler,
    lease_ttl,
    process_id,
)
from okrbridge.scheduler.health import SchedulerHeartbeat
from okrbridge.store.db import Store
from okrbridge.sync.runner import build_connector
from okrbridge.web.app import create_app
from okrbridge.web.state import WebState

__all__ = ["Daemon", "DaemonOptions"]

log = get_logger(__name__)


@dataclass(frozen=True)
class DaemonOptions:
    host: str
    port: int
    grace: float = 7.0
    """Seconds allowed for a clean stop, from the signal to the exit (within 10 s, as
    orchestrators expect before they send SIGKILL)."""
    worker: bool = True
    """Process the inbox in this process (the benchmark measures acceptance alone)."""
    scheduler: bool = True


class Daemon:
    """Wires the parts of one daemon process together."""

    def __init__(
        self,
        config: Config,
        store: Store,
        registry: ConnectorRegistry,
        env: Mapping[str, str],
        options: DaemonOptions,
    ) -> None:
        self.config, self.store, self.options = config, store, options
        self.id = process_id()
        self.instances = [n for n, s in config.connectors.items() if s.enabled]
        self.stopping = threading.Event()
        self._deadline: float | None = None  # when a stop signal's grace runs out
        self.metrics = DaemonMetrics(store)
        # How long a dead process keeps others waiting: its job lease, its inbox claims.
        ttl = lease_ttl(config.schedule.pull_interval)
        self.health = HealthBoard(self.instances)
        self.jobs = SyncJobs(
            config,
            store,
            registry,
            env,
            Leases(store, ttl, owner=self.id),
            self.health,
            self.metrics,
            self.stopping,
        )
        self.scheduler = build_scheduler(self.jobs, self.instances)
        self.heartbeat = SchedulerHeartbeat()
        self.scheduler.add_executor(ThreadPoolExecutor(1), "heartbeat")  # never behind syncs
        self.scheduler.add_job(
            self.heartbeat.beat,
            "interval",
            seconds=self.heartbeat.every,
            id="heartbeat",
            executor="heartbeat",
        )
        self.debouncer = Debouncer(self.scheduler, config.schedule.debounce, self._push)
        self._triggers: dict[str, set[str]] = {}  # instance -> task ids changed by webhooks
        self._triggers_lock = threading.Lock()
        self._connectors = self._build(registry, env)  # request path: verify and screen only
        self.worker = InboxWorker(
            store,
            self._build(registry, env),  # the worker thread's own instances (parse, fetch)
            worker_id=self.id,
            on_changed=self._changed,
            metrics=self.metrics,
            lock_seconds=max(6.0, 2 * ttl),
        )
        self.writer = InboxWriter(store, on_stored=self.worker.wake)
        state = WebState(config, store, self._connectors, self.writer, self.metrics, self.health)
        state.heartbeat = self.heartbeat if options.scheduler else None
        state.process = self.id
        self.app = create_app(state)
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                http=_fast_or("httptools", "h11"),
                loop=_fast_or("uvloop", "asyncio"),
                host=options.host,
                port=options.port,
                log_config=None,  # our logging pipeline (okrbridge.logs) handles uvicorn's
                access_log=False,  # per-request lines would dominate; metrics count requests
                timeout_graceful_shutdown=max(1, int(options.grace / 4)),
                server_header=False,
            )
        )

    def _build(self, registry: ConnectorRegistry, env: Mapping[str, str]) -> dict[str, Any]:
        built: dict[str, Connector[Any]] = {}
        for name in self.instances:
            try:
                built[name] = build_connector(registry, self.config, name, env)
            except Exception as exc:  # one broken instance must not stop the others
                self.health[name].failure(f"cannot start: {exc}")
        return built

    def _changed(self, instance: str, task_ids: Sequence[str]) -> None:
        """Webhook events changed these tasks: remember them and schedule a debounced push."""
        with self._triggers_lock:
            self._triggers.setdefault(instance, set()).update(task_ids)
        self.debouncer.trigger(instance)

    def _push(self, instance: str) -> JobOutcome:
        """The debounced push after webhook events, with the ids of the tasks they changed."""
        with self._triggers_lock:
            trigger = sorted(self._triggers.pop(instance, set()))
        # The tasks the webhooks changed are written first: a person sees their own task
        # update within seconds, before any other write the push may carry.
        first = [TaskRef(connector=instance, external_id=task_id) for task_id in trigger]
        outcome = self.jobs.push(instance, first=first)
        if outcome is JobOutcome.BUSY:  # the Debouncer tries again: keep the ids for it
            with self._triggers_lock:
                self._triggers.setdefault(instance, set()).update(trigger)
        return outcome

    def run(self) -> int:
        """Serve until a stop signal; return the exit code (0 after a clean stop)."""
        self._announce()
        self.writer.start()
        if self.options.worker:
            self.worker.start()
        if self.options.scheduler:
            self.scheduler.start()
        # Our handlers take precedence over the default ones; uvicorn installs its own while
        # serving, restores ours afterwards and re-raises the signal, which then lands here.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        try:
            self.server.run()
        finally:
            busy = self.shutdown()
        if busy:  # the interpreter would wait for them at exit (executor threads are joined)
            log.warning("exiting with work still running", threads=busy)
            logging.shutdown()
            os._exit(0)
        return 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping.is_set():
            log.info("stop requested", signal=signal.Signals(signum).name)
            self._deadline = time.monotonic() + self.options.grace
        self.stopping.set()
        self.server.should_exit = True

    def _announce(self) -> None:
        replicas = (
            "single replica (SQLite store)"
            if self.store.dialect == "sqlite"
            else "replicas share jobs and inbox through the store"
        )
        log.info(
            "daemon starting",
            daemon=self.id,
            store=self.store.redacted_url,
            mode=replicas,
            instances=self.instances,
            listen=f"http://{self.options.host}:{self.options.port}",
        )

    def shutdown(self) -> list[str]:
        """Stop everything within what is left of `grace` seconds since the stop signal;
        return the names of the threads still busy after that."""
        self.stopping.set()
        deadline = self._deadline or time.monotonic() + self.options.grace

        def left(share: float = 1.0) -> float:
            return max(0.1, (deadline - time.monotonic()) * share)

        self.writer.stop(timeout=left(0.4))
        self.worker.stop(timeout=left(0.5))
        stopper = None
        if self.scheduler.running:
            stopper = threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True})
            stopper.start()
            stopper.join(left())
            if stopper.is_alive():
                log.warning("a sync job is still running at exit; its lease will expire")
        for connector in self._connectors.values():
            connector.close()
        log.info("daemon stopped", daemon=self.id)
        busy = ["scheduler"] if stopper is not None and stopper.is_alive() else []
        if self.worker.is_alive():
            busy.append("inbox-worker")
        else:  # (closing its connectors mid-request would only add a traceback)
            for connector in self.worker.connectors.values():
                connector.close()
        return busy


def _fast_or(fast: str, fallback: str) -> str:
    """httptools and uvloop (dependencies of ours) cost far less CPU per webhook delivery than
    h11 and asyncio's loop; uvloop does not exist on Windows, where the fallback serves."""
    try:
        importlib.import_module(fast)
    except ImportError:
        return fallback
    return fast
