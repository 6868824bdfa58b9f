"""Real `crm worker` processes: one is SIGKILLed mid-send and another sends what it held."""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from pathlib import Path

from db.sql import fetch
from schema.node import decode_id
from tests.channel_helpers import connect_twilio, send
from tests.email_helpers import wait_until
from tests.factories import gid, make_customer
from tests.twilio_standin import standin

MESSAGES = 12
LEASE_SECONDS = 2.0


def worker_env(db: str, secret_key: str) -> dict[str, str]:
    """A `crm worker` on the test database (the same secret key opens the credentials)."""
    return os.environ | {
        "DATABASE_URL": db, "CRM_SECRET_KEY": secret_key,
        "CRM_CHANNEL_LEASE_SECONDS": str(LEASE_SECONDS), "CRM_CHANNEL_POLL_SECONDS": "0.1",
        "CRM_CHANNEL_WORKER_CONCURRENCY": "1", "CRM_CHANNEL_BATCH_SIZE": "4",
        "CRM_CHANNEL_HTTP_TIMEOUT_SECONDS": "10", "CRM_LOG_LEVEL": "WARNING",
    }


async def start_worker(env: dict[str, str], slug: str, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app.cli", "worker", "--org", slug, "--no-webhooks",
            env=env, stdout=output, stderr=output,
        )


async def test_a_killed_worker_loses_no_message_and_repeats_only_its_in_flight_one(
    api, org, db, settings, tmp_path
) -> None:
    log = tmp_path / "workers.log"
    async with standin() as provider:
        provider.receipts = False
        await connect_twilio(api, provider)
        customers = [await make_customer(org, phone=f"+1415555{1000 + i}")
                     for i in range(MESSAGES)]
        ids = []
        for customer in customers:
            payload = await send(api, gid(customer), text=f"Hello {customer.name}")
            ids.append(decode_id(payload["interaction"]["id"], "Interaction"))
        provider.script.extend(["ok", "ok", "ok", "hang"])  # the 4th hangs: the kill lands there
        env = worker_env(db, settings.secret_key)
        first = await start_worker(env, org.slug, log)
        try:
            await wait_until(lambda: _attempts(provider, 4), seconds=60)
        finally:
            first.kill()  # SIGKILL: no chance to give anything back
            await first.wait()
        in_flight = await fetch("SELECT id FROM channel_message WHERE organization_id = $1"
                                " AND status = 'SENDING'", [org.id])
        second = await start_worker(env, org.slug, log)
        try:
            await wait_until(lambda: _all_sent(org.id), seconds=60)
        finally:
            second.terminate()
            await second.wait()
    assert second.returncode == 0, log.read_text()[-3000:]
    counts = Counter(sent.form["Body"] for sent in provider.sent)
    assert set(counts) == {f"Hello {c.name}" for c in customers}  # nothing lost
    assert max(counts.values()) <= 2
    repeated = [body for body, n in counts.items() if n > 1]
    assert len(repeated) <= 1  # the one in flight (the hung request may still have landed)
    assert in_flight  # the dead worker's claims waited for their leases to end


async def _attempts(provider, n: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(provider.attempts >= n)


async def _all_sent(org_id: int) -> bool:
    rows = await fetch("SELECT status, count(*) AS n FROM channel_message WHERE"
                       " organization_id = $1 GROUP BY status", [org_id])
    return {row["status"]: row["n"] for row in rows} == {"SENT": MESSAGES}
