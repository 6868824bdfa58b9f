"""Sends generated operations through the real ASGI app and judges every answer.

A finding is an answer the API must never give: an INTERNAL_SERVER_ERROR, an exception out of
the app (a compiled answer differing from the generic one is one: tests run with
``compiled_verify``), a non-JSON answer, or a failed mutation that changed any row of the
organization. Everything else is tallied by outcome.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.robustness import world as fuzz_world
from tests.robustness.generator import Operation


@dataclass(frozen=True)
class Finding:
    kind: str
    principal: str
    operation: Operation
    detail: str

    def __str__(self) -> str:
        variables = json.dumps(self.operation.variables)
        return (f"{self.kind} as {self.principal}: {self.detail}\n  document: "
                f"{self.operation.document}\n  variables: {variables[:2000]}")


@dataclass
class Tally:
    outcomes: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    slowest: list[tuple[float, str]] = field(default_factory=list)

    @property
    def tried(self) -> int:
        return sum(self.outcomes.values())


async def run(http: httpx.AsyncClient, world: fuzz_world.World, operations: list[Operation],
              tally: Tally | None = None) -> Tally:
    """Each operation in turn, as each principal in turn."""
    tally = tally or Tally()
    principals = list(world.principals.items())
    for n, operation in enumerate(operations):
        name, credential = principals[n % len(principals)]
        await one(http, world, operation, name, credential, tally)
    return tally


async def one(http: httpx.AsyncClient, world: fuzz_world.World, operation: Operation,
              principal: str, credential: str, tally: Tally) -> None:
    """Send one operation and record its outcome (and any finding)."""
    before = await fuzz_world.fingerprint(world) if operation.kind == "mutation" else None
    # json, not httpx's encoder: lone surrogates and NaN must reach the server as clients send them
    body = json.dumps({"query": operation.document, "variables": operation.variables})
    headers = {"Authorization": f"Bearer {credential}", "content-type": "application/json"}
    started = time.perf_counter()
    try:
        response = await http.post("/graphql", content=body.encode(), headers=headers)
        tally.slowest = sorted([*tally.slowest, (time.perf_counter() - started,
                                                 operation.document[:300])], reverse=True)[:5]
    except Exception as exc:  # out of the app: a crash or a compiled mismatch
        tally.outcomes["exception"] += 1
        tally.findings.append(Finding(type(exc).__name__, principal, operation, repr(exc)[:500]))
        return
    try:
        answer: dict[str, Any] = response.json()
    except ValueError:
        tally.outcomes[f"http {response.status_code} (not JSON)"] += 1
        tally.findings.append(Finding("not JSON", principal, operation, response.text[:500]))
        return
    outcome, failed = classify(operation, answer)
    if response.status_code != 200:
        outcome = f"http {response.status_code} {outcome}"
    tally.outcomes[outcome] += 1
    if "INTERNAL_SERVER_ERROR" in codes(answer):
        tally.findings.append(Finding("INTERNAL_SERVER_ERROR", principal, operation,
                                      json.dumps(answer.get("errors"))[:500]))
    if before is not None and failed:
        after = await fuzz_world.fingerprint(world)
        if after != before:
            tally.findings.append(Finding(
                "wrote on error", principal, operation,
                f"{fuzz_world.changed(before, after)}; answer {json.dumps(answer)[:500]}"))


def codes(answer: dict[str, Any]) -> list[str]:
    return [str((e.get("extensions") or {}).get("code")) for e in answer.get("errors") or ()]


def classify(operation: Operation, answer: dict[str, Any]) -> tuple[str, bool]:
    """The outcome's label, and whether the operation itself failed (so wrote nothing)."""
    errors = answer.get("errors") or []
    # errors at a root field or before execution (no path): the operation did not happen;
    # errors deeper down come from the selection, after a mutation has done its work
    root_errors = [e for e in errors if len(e.get("path") or ()) <= 1]
    data = answer.get("data") or {}
    payload_errors = [e for value in data.values() if isinstance(value, dict)
                      for e in value.get("payloadErrors") or ()]
    if root_errors:
        label = "error " + "/".join(sorted(set(codes({"errors": root_errors}))))
    elif payload_errors:
        label = "payload error " + "/".join(sorted({str(e.get("code")) for e in payload_errors}))
    elif errors:
        label = "ok, nested error " + "/".join(sorted(set(codes(answer))))
    else:
        label = "ok"
    return f"{operation.kind} {label}", bool(root_errors or payload_errors)
