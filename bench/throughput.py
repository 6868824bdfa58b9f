"""One load phase: warm up, then measure a server with the load process, and account for CPU.

Besides what the load process reports, it counts server-side transactions per request from
``pg_stat_database`` (every autocommit statement, and every pool reset, is one transaction) and
the CPU time of the server, of PostgreSQL's backends for this database and of the whole machine,
so that a figure limited by something else (e.g. another process on the 2 cores) shows it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from bench.console import say
from bench.servers import Server
from core.database import connection_params

LOAD_SCRIPT = str(Path(__file__).with_name("load.py"))
# PostgreSQL flushes an idle backend's statistics within 10 s (PGSTAT_IDLE_INTERVAL)
STATS_FLUSH_SECONDS = 11.0
# before measuring, wait up to this long for other processes to leave the CPUs alone
QUIET_WAIT_SECONDS = 120.0
QUIET_PERCENT = 15.0  # of the whole machine


def wait_for_quiet() -> float:
    """Wait until the machine is mostly idle (or give up); the busy percent last seen."""
    deadline = time.monotonic() + QUIET_WAIT_SECONDS
    busy = float(psutil.cpu_percent(interval=1.0))
    if busy >= QUIET_PERCENT:
        say(f"machine {busy:.0f}% busy with other work; waiting up to {QUIET_WAIT_SECONDS:g}s")
    while busy >= QUIET_PERCENT and time.monotonic() < deadline:
        busy = float(psutil.cpu_percent(interval=2.0))
    return busy


async def _database_state(url: str) -> tuple[int, list[int]]:
    conn = await asyncpg.connect(**connection_params(url))
    try:
        transactions = await conn.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        )
        pids = [r["pid"] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )]
        return int(transactions), pids
    finally:
        await conn.close()


def _cpu_of(pids: list[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        found[pid] = times.user + times.system
    return found


def _machine_busy() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def _load(server: Server, path: str, body: dict[str, Any], token: str, concurrency: int,
          duration: float) -> dict[str, Any]:
    argv = [
        sys.executable, LOAD_SCRIPT, "--url", f"{server.base_url}{path}",
        "--body", json.dumps(body), "--header", f"Authorization: Bearer {token}",
        "--concurrency", str(concurrency), "--duration", str(duration), "--warmup", "0",
        "--error-marker", '"errors"',
    ]
    done = subprocess.run(argv, capture_output=True, check=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def measure(
    server: Server, *, url: str, path: str, body: dict[str, Any], token: str,
    concurrency: int, duration: float, warmup: float,
) -> dict[str, Any]:
    """Warm up, wait for statistics to settle, then load ``server`` for ``duration`` seconds."""
    say(f"{server.name}: warm-up {warmup:g}s at concurrency {concurrency}")
    _load(server, path, body, token, concurrency, warmup)
    time.sleep(STATS_FLUSH_SECONDS)
    idle_busy = wait_for_quiet()
    transactions_before, backends = asyncio.run(_database_state(url))
    db_before, server_before = _cpu_of(backends), server.cpu_seconds()
    machine_before, wall_before = _machine_busy(), time.perf_counter()
    say(f"{server.name}: measuring {duration:g}s")
    result = _load(server, path, body, token, concurrency, duration)
    wall = time.perf_counter() - wall_before
    machine = _machine_busy() - machine_before
    server_cpu = server.cpu_seconds() - server_before
    db_after = _cpu_of(backends)
    db_cpu = sum(db_after[pid] - db_before[pid] for pid in db_after if pid in db_before)
    time.sleep(STATS_FLUSH_SECONDS)
    transactions_after, _ = asyncio.run(_database_state(url))
    # the first reading's own transaction is counted in the second
    transactions = transactions_after - transactions_before - 1
    result.update(
        wall_seconds=round(wall, 2), machine_busy_percent_before=round(idle_busy, 1),
        server_cpu_percent=round(100 * server_cpu / wall, 1),
        # CPU time per request holds up better than requests/s when others share the CPUs
        server_cpu_ms_per_request=(
            round(1000 * server_cpu / result["sent"], 2) if result["sent"] else None
        ),
        postgres_cpu_ms_per_request=(
            round(1000 * db_cpu / result["sent"], 2) if result["sent"] else None
        ),
        postgres_cpu_percent=round(100 * db_cpu / wall, 1),
        client_cpu_percent=round(100 * result["client_cpu_seconds"] / wall, 1),
        machine_cpu_percent=round(100 * machine / wall, 1),
        other_cpu_percent=round(
            100 * (machine - server_cpu - db_cpu - result["client_cpu_seconds"]) / wall, 1
        ),
        server_transactions_per_request=(
            round(transactions / result["sent"], 2) if result["sent"] else None
        ),
    )
    return result
