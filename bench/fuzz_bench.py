"""A longer fuzz run: generated operations over the whole schema until the time is up.

The suite's fuzz test (tests/robustness/test_fuzz.py) with a duration instead of a count and any
seed: the same generator, world and judgement, in-process (httpx ASGI transport) on a scratch
database, with ``compiled_verify`` on as in the tests. Prints the operations tried by outcome
and every finding (internal errors, exceptions, compiled/generic differences, writes on error)::

    PYTHONPATH=. .venv/bin/python bench/fuzz_bench.py --duration 120 --seed 7
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time

import httpx

from app.main import create_app
from bench.scratch import scratch_database
from core import database
from core.config import Settings
from tests.graphql_docs import graphql_schema
from tests.robustness import runner, world
from tests.robustness.generator import Generator

BATCH = 50


async def main(url: str, duration: float, seed: int, show: int) -> int:
    """Fuzz for ``duration`` seconds; returns how many findings there were."""
    settings = Settings(
        env="test", secret_key="f" * 48, database_url=None, compiled_verify=True,
        rate_limit_burst=10**9, anonymous_rate_limit_burst=10**9,
        login_max_failures=10**9, login_ip_max_failures=10**9,
    )
    async with scratch_database(url, "crm_fuzzbench") as db_url:
        await database.migrate(db_url, settings)
        await database.connect(db_url, settings)
        try:
            app = create_app(settings, db_url)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://fuzz") as http:
                fuzz_world = await world.build(http, settings)
                generator = Generator(graphql_schema(), fuzz_world.ids, seed)
                tally = runner.Tally()
                started = time.perf_counter()
                while time.perf_counter() - started < duration:
                    await runner.run(http, fuzz_world, generator.operations(BATCH), tally)
                elapsed = time.perf_counter() - started
                mismatches = [f for f in tally.findings if f.kind == "CompiledMismatch"]
                answers = await both_answers(settings, db_url, fuzz_world, mismatches[:show])
        finally:
            await database.disconnect()
    print(f"seed {seed}: {tally.tried} operations in {elapsed:.0f} s "
          f"({tally.tried / elapsed:.0f}/s), {len(tally.findings)} findings")
    for outcome, count in sorted(tally.outcomes.items(), key=lambda item: -item[1]):
        print(f"{count:8d}  {outcome}")
    for seconds, document in tally.slowest:
        print(f"slowest: {seconds:.2f} s {document}")
    for finding in tally.findings[:show]:
        print(f"\n{finding}")
        for path, answer in answers.get(id(finding), {}).items():
            print(f"  {path} answer: {answer}")
    return len(tally.findings)


async def both_answers(
    settings: Settings, db_url: str, fuzz_world: world.World, findings: list[runner.Finding]
) -> dict[int, dict[str, str]]:
    """For compiled/generic differences: each path's answer to the same request, sent again."""
    apps = {
        "compiled": create_app(settings.model_copy(update={"compiled_verify": False}), db_url),
        "generic": create_app(settings.model_copy(update={"compiled_queries": False}), db_url),
    }
    answers: dict[int, dict[str, str]] = {}
    for finding in findings:
        operation = finding.operation
        headers = {"Authorization": f"Bearer {fuzz_world.principals[finding.principal]}",
                   "content-type": "application/json"}
        body = json.dumps({"query": operation.document, "variables": operation.variables})
        for path, app in apps.items():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://fuzz") as http:
                response = await http.post("/graphql", content=body.encode(), headers=headers)
            answers.setdefault(id(finding), {})[path] = response.text[:2000]
    return answers


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a server on which a scratch database is made (and dropped)")
    parser.add_argument("--duration", type=float, default=60, help="seconds to fuzz")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", type=int, default=20, help="findings printed in full")
    parser.add_argument("--log", action="store_true", help="log internal errors with frames")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL if not args.log else logging.ERROR)
    found = asyncio.run(main(args.database_url, args.duration, args.seed, args.show))
    raise SystemExit(1 if found else 0)
