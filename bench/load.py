"""A lean HTTP/1.1 load generator, run as its own process so it does not share the server's CPU.

It keeps ``--concurrency`` keep-alive connections busy with the same POST for ``--duration``
seconds and prints one JSON object: throughput, latency percentiles and errors. A request is an
error when the status is not 200, the body contains ``--error-marker`` (GraphQL reports errors
with status 200) or the connection fails. Hand-rolled on asyncio streams rather than httpx: a
client costing ~0.5 ms of CPU per request would cap what it can measure on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

TIMEOUT = 30.0


@dataclass
class Tally:
    """What the clients saw, shared by all of them (one event loop, no locks needed)."""

    start: float
    end: float
    latencies: list[float] = field(default_factory=list)
    completed_in_window: int = 0
    sent: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text[:300])


class Connection:
    """One keep-alive connection that sends the same request again and again."""

    def __init__(self, host: str, port: int, request: bytes) -> None:
        self.host, self.port, self.request = host, port, request
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        headers = head.lower()
        if b"transfer-encoding: chunked" in headers:
            body = await self._chunked()
        else:
            start = headers.index(b"content-length:") + 15
            length = int(headers[start:headers.index(b"\r\n", start)])
            body = await self.reader.readexactly(length)
        if b"connection: close" in headers:
            self.close()
        return status, body

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await self.reader.readexactly(size + 2))
            if size == 0:
                return b"".join(parts)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _client(conn: Connection, tally: Tally, marker: bytes) -> None:
    while (started := time.perf_counter()) < tally.end:
        try:
            status, body = await asyncio.wait_for(conn.send(), TIMEOUT)
            problem = (
                f"HTTP {status}: {body[:200]!r}" if status != 200
                else f"error in body: {body[:200]!r}" if marker and marker in body else None
            )
        except (TimeoutError, OSError, EOFError, ValueError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError) as exc:
            conn.close()
            problem = f"{type(exc).__name__}: {exc}"
        finished = time.perf_counter()
        tally.sent += 1
        if started < tally.start:
            continue  # warm-up
        if finished <= tally.end:
            tally.completed_in_window += 1
        if problem is None:
            tally.latencies.append(finished - started)
        else:
            tally.error(problem)


def _request(url: str, body: bytes, headers: list[str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    lines = [
        f"POST {parts.path or '/'} HTTP/1.1", f"Host: {host}:{port}",
        "Content-Type: application/json", f"Content-Length: {len(body)}", *headers, "", "",
    ]
    return host, port, "\r\n".join(lines).encode() + body


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def run(args: argparse.Namespace) -> dict[str, object]:
    """Run the load and summarise it."""
    host, port, request = _request(args.url, args.body.encode(), args.header)
    now = time.perf_counter()
    tally = Tally(start=now + args.warmup, end=now + args.warmup + args.duration)
    conns = [Connection(host, port, request) for _ in range(args.concurrency)]
    cpu_before = time.process_time()
    await asyncio.gather(*(_client(c, tally, args.error_marker.encode()) for c in conns))
    cpu = time.process_time() - cpu_before
    for conn in conns:
        conn.close()
    lat = sorted(tally.latencies)

    def ms(q: float) -> float | None:
        value = percentile(lat, q)
        return None if value is None else round(value * 1000, 2)

    return {
        "requests": tally.completed_in_window, "sent": tally.sent,
        "seconds": args.duration, "rps": round(tally.completed_in_window / args.duration, 1),
        "p50_ms": ms(0.50), "p90_ms": ms(0.90), "p99_ms": ms(0.99), "max_ms": ms(1.0),
        "mean_ms": round(sum(lat) / len(lat) * 1000, 2) if lat else None,
        "errors": tally.errors, "error_samples": tally.error_samples,
        "client_cpu_seconds": round(cpu, 2), "concurrency": args.concurrency,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="http://host:port/path to POST to")
    parser.add_argument("--body", required=True, help="the JSON request body")
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    parser.add_argument("--error-marker", default='"errors"', help="body bytes meaning failure")
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:  # pragma: no cover (uvloop is a dependency off Windows)
        print(json.dumps(asyncio.run(run(args))))
    else:
        print(json.dumps(uvloop.run(run(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
