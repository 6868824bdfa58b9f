"""MIME building and SMTP delivery against a real aiosmtpd server on loopback."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from core.config import Settings
from services.email.mailer import DeliveryError, Mailer, Outgoing, build, new_message_id
from tests.smtp import smtp_sink


def _settings(port: int, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test", "secret_key": "t" * 40, "smtp_host": "127.0.0.1", "smtp_port": port,
        "smtp_tls": "none",
        "smtp_from": "Zhang Shop 张记 <shop@example.com>", "smtp_timeout_seconds": 5,
    }
    return Settings(**(values | overrides))


def _outgoing(**overrides: object) -> Outgoing:
    values: dict[str, object] = {
        "sender": "shop@example.com", "recipient": "zhangsan@example.com",
        "recipient_name": "张三", "subject": "你好, 张三: your order ✓",
        "text": "Hello 张三,\nthanks!\n", "html": "<p>Hello <b>张三</b></p>",
        "message_id": new_message_id("shop@example.com"),
        "unsubscribe_url": "https://crm.example.com/unsubscribe/abc.def",
    }
    return Outgoing(**(values | overrides))  # type: ignore[arg-type]


async def test_message_arrives_with_headers_and_both_parts() -> None:
    async with smtp_sink() as sink:
        settings = _settings(sink.port)
        outgoing = _outgoing()
        mailer = Mailer(settings)
        reply = await mailer.send(sender="shop@example.com", recipient=outgoing.recipient,
                                  mime=build(outgoing, settings))
        await mailer.close()
    assert "accepted" in reply
    [received] = sink.received
    assert received.mail_from == "shop@example.com"
    assert received.rcpt_tos == ["zhangsan@example.com"]
    msg = received.message
    assert str(msg["To"]) == "张三 <zhangsan@example.com>"
    assert msg["To"].addresses[0].display_name == "张三"
    assert str(msg["From"]) == "Zhang Shop 张记 <shop@example.com>"
    assert str(msg["Subject"]) == "你好, 张三: your order ✓"
    assert str(msg["Message-ID"]) == outgoing.message_id
    assert str(msg["List-Unsubscribe"]) == "<https://crm.example.com/unsubscribe/abc.def>"
    assert str(msg["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert msg["Date"] is not None
    assert msg.get_content_type() == "multipart/alternative"
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Hello 张三,\nthanks!\n"
    assert msg.get_body(("html",)).get_content().strip() == "<p>Hello <b>张三</b></p>"
    # on the wire, headers are 7-bit (RFC 2047 encoded words), so any server accepts them
    header_block = received.data.split(b"\r\n\r\n")[0]
    assert header_block.isascii()


async def test_connection_is_reused_for_following_messages() -> None:
    async with smtp_sink() as sink:
        settings = _settings(sink.port)
        mailer = Mailer(settings)
        for _ in range(3):
            message = _outgoing(message_id=new_message_id("shop@example.com"))
            await mailer.send(sender="shop@example.com", recipient=message.recipient,
                              mime=build(message, settings))
        await mailer.close()
    assert len(sink.received) == 3
    assert sink.connections == 1


async def test_a_dropped_connection_is_reopened() -> None:
    async with smtp_sink() as sink:
        settings = _settings(sink.port)
        mailer = Mailer(settings)
        await mailer.send(sender="shop@example.com", recipient="a@example.com",
                          mime=build(_outgoing(), settings))
    async with smtp_sink(sink.port) as again:
        await mailer.send(sender="shop@example.com", recipient="a@example.com",
                          mime=build(_outgoing(), settings))
        await mailer.close()
    assert len(again.received) == 1


async def test_5xx_is_permanent_and_keeps_the_reply() -> None:
    async with smtp_sink() as sink:
        sink.rcpt_replies["gone@example.com"] = "550 5.1.1 <gone@example.com>: no such user"
        settings = _settings(sink.port)
        mailer = Mailer(settings)
        with pytest.raises(DeliveryError) as caught:
            await mailer.send(sender="shop@example.com", recipient="gone@example.com",
                              mime=build(_outgoing(recipient="gone@example.com"), settings))
        # the connection stays usable after a refusal
        await mailer.send(sender="shop@example.com", recipient="ok@example.com",
                          mime=build(_outgoing(recipient="ok@example.com"), settings))
        await mailer.close()
    assert caught.value.permanent
    assert "550 5.1.1 <gone@example.com>: no such user" in caught.value.message
    assert [r.rcpt_tos for r in sink.received] == [["ok@example.com"]]
    assert sink.connections == 1


async def test_4xx_and_refused_connections_are_transient() -> None:
    async with smtp_sink() as sink:
        sink.data_replies.append("451 4.3.0 try again later")
        settings = _settings(sink.port)
        mailer = Mailer(settings)
        with pytest.raises(DeliveryError) as busy:
            await mailer.send(sender="shop@example.com", recipient="a@example.com",
                              mime=build(_outgoing(), settings))
        await mailer.close()
    assert not busy.value.permanent
    assert "451" in busy.value.message
    with pytest.raises(DeliveryError) as refused:
        await Mailer(settings).send(sender="shop@example.com", recipient="a@example.com",
                                    mime=build(_outgoing(), settings))
    assert not refused.value.permanent


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


async def test_starttls_with_authentication(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    logins: list[tuple[str, bytes]] = []

    def check(mechanism: str, login: bytes, password: bytes) -> bool:
        logins.append((login.decode(), password))
        return password == b"s3cret"

    async with smtp_sink(tls_context=server_tls, require_starttls=True,
                         auth_callback=check, auth_required=True) as sink:
        settings = _settings(sink.port, smtp_tls="starttls", smtp_username="shop",
                             smtp_password="s3cret")
        mailer = Mailer(settings, tls_context=ssl.create_default_context(cafile=str(cert)))
        await mailer.send(sender="shop@example.com", recipient="a@example.com",
                          mime=build(_outgoing(), settings))
        await mailer.close()
    assert len(sink.received) == 1
    assert logins == [("shop", b"s3cret")]
