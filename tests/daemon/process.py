"""Run real daemon processes (the CLI with the memory connector registered) for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

from tests.support.memory.config import write_config

REPO = Path(__file__).resolve().parents[2]


__all__ = ["REPO", "SECRETS", "DaemonProcess", "free_port", "write_config"]

SECRETS = {"MEMORY_TOKEN": "memory-sandbox-token", "MEMORY_WEBHOOK_SECRET": "memory-webhook-secret"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DaemonProcess:
    """`okrbridge daemon` in a subprocess, its combined output captured in a file."""

    def __init__(self, config: Path, log_path: Path, *, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log: IO[Any] = log_path.open("wb")
        full_env = {**os.environ, **SECRETS, **(env or {})}
        full_env.pop("OKRBRIDGE_CONFIG", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.cli_with_memory", "daemon", "--config",
             str(config), "--port", str(self.port)],
            cwd=REPO, env=full_env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"daemon not ready:\n{self.output()}")

    def post(self, headers: dict[str, str], body: bytes) -> httpx.Response:
        return httpx.post(f"{self.url}/webhooks/mem", headers=headers, content=body, timeout=10)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        finally:
            self._log.close()
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        self._log.close()

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")
