"""The servers under test as subprocesses: `crm serve` and the hand-written baseline."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import psutil

from bench import queries
from bench.dataset import CRM, Target

REPO = Path(__file__).resolve().parent.parent
LOG_DIR = Path(__file__).resolve().parent / ".logs"
READY_TIMEOUT = 120.0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """A server subprocess: started on enter, ready once /readyz answers 200, stopped on exit."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int) -> None:
        self.name, self.argv, self.env, self.port = name, argv, env, port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = LOG_DIR / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        LOG_DIR.mkdir(exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {READY_TIMEOUT}s; see {self.log_path}")

    def tail(self, lines: int = 20) -> str:
        """The end of the server's log."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def processes(self) -> list[psutil.Process]:
        """The server process and its workers."""
        if self.process is None or self.process.poll() is not None:
            return []
        root = psutil.Process(self.process.pid)
        return [root, *root.children(recursive=True)]

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server process and its workers."""
        total = 0.0
        for proc in self.processes():
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        return total

    def stop(self) -> None:
        """Stop gracefully, then kill whatever is left.

        SIGINT, not SIGTERM: uvicorn re-raises the signal it caught once it has shut down, and
        a SIGTERM then ends the process without running atexit handlers, which leaves the
        embedded PostgreSQL of `crm serve` running with a stale handle.
        """
        if self.process is None or self.process.poll() is not None:
            return
        workers = self.processes()[1:]
        os.kill(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for worker in workers:
            if worker.is_running():
                worker.kill()

    def post(self, path: str, payload: dict[str, Any], token: str | None = None) -> Any:
        """POST JSON and return the decoded body."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(f"{self.base_url}{path}", json=payload, headers=headers, timeout=60)
        response.raise_for_status()
        return response.json()


def graphql(
    target: Target, workers: int, env: dict[str, str] | None = None, name: str = "graphql"
) -> Server:
    """`crm serve --no-demo` against the target's database (``env`` adds settings)."""
    port = free_port()
    argv = [CRM, "serve", "--no-demo", "--port", str(port), "--workers", str(workers)]
    return Server(name, argv, target.crm_env | (env or {}), port)


def baseline(target: Target, workers: int) -> Server:
    """The hand-written endpoint, served by uvicorn the same way."""
    port = free_port()
    argv = [sys.executable, str(REPO / "bench" / "baseline_app.py"), "--port", str(port),
            "--workers", str(workers)]
    path = os.pathsep.join(p for p in (str(REPO), target.crm_env.get("PYTHONPATH")) if p)
    env = target.crm_env | {"DATABASE_URL": target.url, "PYTHONPATH": path}
    return Server("baseline", argv, env, port)


def login(server: Server) -> str:
    """An access token for the bench admin, through the `login` mutation."""
    body = server.post("/graphql", {"query": queries.LOGIN, "variables": {
        "email": queries.EMAIL, "password": queries.PASSWORD}})
    payload = body["data"]["login"]
    if not payload["accessToken"]:
        raise RuntimeError(f"login failed: {payload['errors']}")
    token: str = payload["accessToken"]
    return token
