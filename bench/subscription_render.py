"""Per-event cost of subscription groups, in process: compiled plans vs the generic executor.

    .venv/bin/python -m bench.subscription_render [--groups 1 10 100] [--events 200]

Reads (never writes) the benchmark database (``crm_bench``, see bench/dataset.py): for each
selection and number of groups G it builds G group renderers exactly as ``app/live.py`` does
for G distinct subscription documents, then renders --events real interactions through all of
them, once with compiled plans and once on graphql-core's executor (CRM_COMPILED_QUERIES off),
and prints the CPU per event and per group render. Sending the shared payload to each member is
not included (see bench/subscription_bench.py for the whole path over websockets).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from app.graphql import build_compiler, build_schema
from app.live import Renderer
from auth.context import Context
from auth.identity import Viewer
from bench import dataset
from core import database
from core.config import Settings
from db.enums import Role
from db.sql import fetch
from schema.interaction import Interaction

SELECTIONS = {
    "light": "id occurredAt",
    "nested": "id channel direction subject occurredAt customer { name email stage owner { name }"
              " orderCount lastInteractionAt } createdBy { name }",
}


async def _events(org_id: int, count: int) -> list[Interaction]:
    from db import interaction as interactions

    ids = [r["id"] for r in await fetch(
        "SELECT id FROM interaction WHERE organization_id = $1 ORDER BY id DESC LIMIT $2",
        [org_id, count])]
    rows = await interactions.get_many(org_id=org_id, ids=ids)
    return [Interaction.from_row(rows[i]) for i in ids]


async def _seconds(renderers: list[Renderer], events: list[Interaction]) -> float:
    """CPU seconds to render every event for every group, as the fan-out does."""
    for renderer in renderers:  # warm: plans, generated builders, parsed documents
        await renderer(events[0])
    started = time.process_time()
    for event in events:
        for renderer in renderers:
            if await renderer(event) is None:
                raise RuntimeError("a render had errors")
    return time.process_time() - started


async def run(args: argparse.Namespace, url: str) -> None:
    """Measure and print."""
    settings = Settings(env="development", secret_key="bench-" + "x" * 40)
    await database.connect(url, settings)
    try:
        org_id, user_id = (await fetch(
            "SELECT organization_id, id FROM app_user ORDER BY id LIMIT 1", []))[0].values()
        events = await _events(org_id, args.events)
        viewer = Viewer(user_id=user_id, organization_id=org_id, role=Role.VIEWER)
        print(f"{len(events)} events of organization {org_id}; CPU per event (µs), and per"
              " group render in brackets")
        print("selection  groups  generic            compiled           ratio")
        schema = build_schema(settings)
        compiler = build_compiler(schema, settings)
        context = Context(request=None, response=None,  # type: ignore[arg-type]
                          settings=settings, request_id="bench", viewer=viewer)
        for name, selection in SELECTIONS.items():
            for groups in args.groups:
                figures = []
                for compiled in (False, True):
                    renderers = []
                    for n in range(groups):
                        query = f"subscription Doc{n} {{ interactionCreated {{ {selection} }} }}"
                        plan = compiler.events.renderer(query, None, None) if compiled else None
                        renderers.append(Renderer(schema, context, query, None, None, plan))
                    figures.append(await _seconds(renderers, events) / len(events) * 1e6)
                generic, fast = figures
                print(f"{name:<10} {groups:>6}  {generic:>8.0f} [{generic / groups:>5.0f}]"
                      f"  {fast:>8.0f} [{fast / groups:>5.0f}]  {generic / fast:>5.1f}x")
    finally:
        await database.disconnect()


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--groups", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args, dataset.choose(args.database_url).url))


if __name__ == "__main__":
    main()
