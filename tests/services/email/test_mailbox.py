"""The development mailbox: email the outbox sends lands in files a browser can read."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
from starlette.applications import Starlette

from app import mailbox_routes
from core.config import Settings
from services.email import mailbox
from tests.email_helpers import email_settings, queue_email, running_worker, wait_status
from tests.factories import make_customer


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_sent_email_is_kept_and_shown(org, settings: Settings, tmp_path: Path) -> None:
    port = _free_port()
    config = email_settings(settings, port).model_copy(
        update={"dev_mailbox_port": port, "data_dir": tmp_path})
    customer = await make_customer(org, name="Zoë <Test>", email="zoe@example.com")
    async with mailbox.service(None, config):
        email = await queue_email(config, customer, subject="Your <order>", text="Danke!\n")
        async with running_worker(config, [org.id]):
            await wait_status(email["id"], "SENT")
    [caught] = mailbox.latest(config)
    assert caught.subject == "Your <order>"
    assert "zoe@example.com" in caught.to
    assert caught.text == "Danke!\n"
    pages = Starlette(routes=mailbox_routes.routes(config))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=pages),
                                 base_url="http://crm.test") as client:
        index = await client.get("/dev/mailbox")
        assert index.status_code == 200
        assert "Your &lt;order&gt;" in index.text  # escaped, never markup
        shown = await client.get(f"/dev/mailbox/{caught.name}")
        assert shown.status_code == 200
        assert "Danke!" in shown.text
        assert (await client.get("/dev/mailbox/..%2Fsecret.eml")).status_code == 404
        assert (await client.get("/dev/mailbox/nothing.eml")).status_code == 404


def test_without_a_port_there_is_no_mailbox(settings: Settings) -> None:
    assert settings.dev_mailbox_port is None
    assert mailbox_routes.routes(settings) == []
