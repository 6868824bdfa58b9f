"""Hostile values for every scalar of the schema, and global IDs good and bad.

What a careless or malicious client sends: empty and huge text, control characters, Unicode
that changes length when normalised or case-folded, boundary lengths of the columns, numbers at
and past the limits of 32-bit integers, of doubles and of PostgreSQL's numeric and bigint,
malformed and out-of-range dates, ids of every shape, and JSON nested deep or with keys the
database cannot store. Plain valid values are mixed in so generated operations also get past
validation and reach the database.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field
from typing import Any

LENGTHS = (1, 2, 3, 20, 50, 51, 64, 100, 101, 200, 201, 254, 255, 256, 500, 501, 2000, 2001,
           10_001, 70_000)
TEXT = (
    "", " ", "   ", "a", "x", "\t", "\n", "\r\n", "\x01", "\x1b[31mred", "\x7f", "\x00",
    "a\x00b", "\u0085", "\u2028", "\u202e\u202dright-to-left", "\u200b", "\ufeff", "\uffff",
    "\U0010ffff", "\ud800", "a\udfffb", "e\u0301" * 40, "\u1e9b\u0323", "İ", "ß" * 100,
    "ﬃ" * 100, "👩\u200d👩\u200d👧\u200d👦", "Ω≈ç√∫", "'; DROP TABLE customer; --", "%", "_",
    "\\", "%_\\%", "*", "(", "[", ".*" * 20, "null", "undefined", "<script>alert(1)</script>",
    "{{ 7 * 7 }}", "{% for x in range(3) %}{{ x }}{% endfor %}", "{{ customer.__class__ }}",
    "{{", "{% if %}", "Müller", "0", "-1", "1e309", "NaN", "true", "[]", "{}",
)
EMAILS = ("a@b", "@", "a@", "@b.com", "x@example.com", "X@EXAMPLE.COM", "x+tag@gmail.com",
          "ünï@exämple.com", "a" * 64 + "@" + "b" * 63 + ".com", "a" * 65 + "@example.com",
          "a@" + ("b" * 63 + ".") * 4 + "com", '"quoted space"@example.com', "a@[127.0.0.1]")
PHONES = ("+4930123456", "+49 30 123456", "030 123456", "+0", "+1", "+" + "9" * 20, "+",
          "tel:+4930123456", "+1 (555) 010-9999 ext. 1234567890")
CODES = ("EUR", "eur", "USD", "EU", "EURO", "€", "XXX", "DE", "de", "ZZ", "D", "US", "123")
URLS = ("https://hooks.invalid/endpoint", "http://127.0.0.1/hook", "https://localhost/x",
        "https://[::1]/", "https://10.0.0.1/", "ftp://hooks.invalid/", "javascript:alert(1)",
        "https://hooks.invalid:99999/", "https://hooks.invalid:0/", "https://a..b/",
        "https://" + "a" * 3000 + ".invalid/", "https://user:pw@hooks.invalid/", "https://",
        "//hooks.invalid", "https://hooks.invalid/" + "%00", "https://\u0430pple.invalid/")
SCOPES = ("customers:read", "customers:write", "interactions:read", "orders:write", "admin",
          "pii:read", "", "everything", "customers:*")
INTS = (0, -1, 1, 2, 3, 5, 10, 20, 99, 100, 101, 999, 1000, 1001, 10_000, -2213, 2**31 - 1,
        -(2**31), 2**31, 2**53 + 1, -(2**63))
FLOATS = (0.0, -0.0, 0.5, 1.0, 1.0000001, -1.0, 1e-320, 1e308, -1e308, 0.9999999999999999,
          2.0, 100.0, float("nan"), float("inf"))
DECIMALS = ("0", "-0", "0.00", "1", "-1", "19.90", "0.001", "0.005", "1e14", "1e15",
            "99999999999999.99", "100000000000000", "12345678901234567890.123", "1e-100",
            "1E+2", "NaN", "sNaN", "Infinity", "-Infinity", "1e999999999", " 1 ", "1_000", "",
            "abc", "0x10", 1, 1.5, -0.01)
DATETIMES = ("2026-01-01T00:00:00+00:00", "2026-03-01T09:30:00Z", "2026-01-01T00:00:00",
             "2026-01-01", "0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00+14:00",
             "9999-12-31T23:59:59.999999+00:00", "9999-12-31T23:59:59-14:00",
             "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "1970-01-01T00:00:00Z",
             "2000-01-01T00:00:00+23:59", "+275760-09-13T00:00:00Z", "", "now", "-1",
             "1e10", "2026-01-01T24:00:00Z", "2026-06-30T23:59:60Z")
DATES = ("2026-01-01", "0001-01-01", "9999-12-31", "2026-02-30", "", "2026-01", "20260101")
JSON_LEAVES: tuple[Any, ...] = ("", "x", 0, -1, 1.5, 1e308, True, None, "\x00", "\ud800",
                                "a" * 20_000, 2**64)


def nested(depth: int) -> Any:
    """A JSON value ``depth`` objects deep."""
    value: Any = {"leaf": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


def text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(TEXT)
    if roll < 0.65:
        return rng.choice(("a", "é", "€", "\U0001d54f", " ")) * rng.choice(LENGTHS)
    if roll < 0.75:
        return rng.choice(EMAILS)
    if roll < 0.8:
        return rng.choice(PHONES)
    if roll < 0.9:
        return rng.choice(CODES)
    return "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(1, 30)))


def json_value(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.15:
        return nested(rng.choice((10, 100, 500, 800)))
    if roll < 0.3:
        return rng.choice(([], "text", 1, None, True, [1, [2, [3]]]))
    if roll < 0.45:
        return {rng.choice(("\x00", "", "a\x00", "\ud800", "$", "key")): rng.choice(JSON_LEAVES)}
    if roll < 0.55:
        return {f"k{n}": "v" * 100 for n in range(rng.choice((10, 200, 2000)))}
    return {text(rng)[:40]: rng.choice(JSON_LEAVES) for _ in range(rng.randrange(0, 4))}


@dataclass
class Ids:
    """Global ids to put in ID arguments: the world's real ones by type, and junk."""

    by_type: dict[str, list[str]] = field(default_factory=dict)

    def add(self, type_name: str, global_id: str) -> None:
        self.by_type.setdefault(type_name, []).append(global_id)

    def pick(self, rng: random.Random, hint: str | None = None) -> str:
        roll = rng.random()
        if roll < 0.55:
            pool = self.by_type.get(hint or "") or [i for ids in self.by_type.values()
                                                    for i in ids]
            if pool:
                return rng.choice(pool)
        if roll < 0.7:
            every = [i for ids in self.by_type.values() for i in ids]
            if every:
                return rng.choice(every)
        return junk_id(rng, hint or "Customer")


def encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def junk_id(rng: random.Random, type_name: str) -> str:
    """An id that names nothing: malformed, out of range, of no type, or of a missing row."""
    return rng.choice((
        "", " ", "not-an-id", "====", "Q", "\u00e9", "a" * 101, encode(b"\xff\xfe\x00"),
        encode(f"{type_name}:0".encode()), encode(f"{type_name}:-1".encode()),
        encode(f"{type_name}:{2**63}".encode()), encode(f"{type_name}:{2**63 - 1}".encode()),
        encode(f"{type_name}:999999999".encode()), encode(f"{type_name}: 1".encode()),
        encode(f"{type_name}:1e3".encode()), encode(f"{type_name}:٣".encode()),
        encode(f"{type_name}:".encode()), encode(b":1"), encode(b"Nope:1"),
        encode(f"{type_name}:1:2".encode()), encode(f"{type_name}:1".encode()) + "==",
        encode(f"{type_name}:1".encode()).replace("Q", "+"), "Q3VzdG9tZXI6MQ\n",
    ))
