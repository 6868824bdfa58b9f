"""Zero internal errors under fuzzing, and nothing written by a request that failed.

A few hundred operations generated from the schema (``generator.py``) with hostile values for
every scalar (``hostile.py``), sent through the real ASGI app in an organization of their own,
alternately as an ADMIN user and as an API key with every scope. A fixed seed makes the run the
same every time; ``bench/fuzz_bench.py`` runs longer with any seed.
"""

from __future__ import annotations

import httpx

from core.config import Settings
from tests.graphql_docs import graphql_schema
from tests.robustness import runner, world
from tests.robustness.generator import Generator

SEED = 13
OPERATIONS = 200


async def test_generated_operations_never_fail_internally_nor_write_on_error(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    fuzz_world = await world.build(http, settings)
    schema = graphql_schema()
    generator = Generator(schema, fuzz_world.ids, SEED)
    tally = await runner.run(http, fuzz_world, generator.operations(OPERATIONS))
    assert tally.tried == OPERATIONS
    assert not tally.findings, "\n\n".join(str(f) for f in tally.findings[:10])
    # the run reaches past validation: most fields answer, some with data
    assert tally.outcomes["query ok"] > OPERATIONS // 10, tally.outcomes
    assert sum(n for outcome, n in tally.outcomes.items()
               if outcome.startswith("mutation ok")) > 10, tally.outcomes


def test_every_query_and_mutation_field_is_called() -> None:
    schema = graphql_schema()
    generator = Generator(schema, world.Ids(), SEED)
    called = {f for op in generator.operations(OPERATIONS) for f in op.fields}
    roots = [schema.query_type, schema.mutation_type]
    assert called >= {name for root in roots if root for name in root.fields}
