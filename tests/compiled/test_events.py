"""Subscription payloads from compiled plans are the generic executor's bytes (compiled/events.py).

Each group of subscribers renders an event once (``app/live.py``); here the same group renderer
renders real events both ways, for hand-written and generated selections under every
subscription field, for every kind of principal: each role, API keys with and without
``pii:read`` (masking must match) and a key without the nested scopes. A payload the plan
declines must be one the generic executor answers with errors (not shared) or words itself.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter
from typing import Any

import orjson
import pytest

from app.live import Renderer
from auth.api_keys import viewer_for
from auth.context import Context
from compiled.compiler import Compiler
from db import interaction as interactions
from db.enums import Channel, Direction
from db.models import Interaction as InteractionModel
from db.sql import fetch
from schema.interaction import Interaction
from tests.compiled.corpus import SKIP_FIELDS, Document, Generator
from tests.compiled.test_differential import _world
from tests.factories import make_email_message, make_interaction
from tests.security_helpers import make_key

ROOTS = ("interactionCreated", "interactionUpdated", "emailStatusChanged")
GENERATED = 30
EVENTS = 2  # channels rendered per document and principal (and two more events)
SELECTIONS = [
    Document("subscription { interactionCreated { id channel direction subject body occurredAt"
             " metadata createdAt __typename } }", {}),
    Document("subscription S($f: InteractionSubscriptionFilter) { created: interactionCreated"
             "(filter: $f) { ...I customer { ... on Customer { n: name email } } } }"
             " fragment I on Interaction { id kind: channel at: occurredAt id }",
             {"f": {"channels": ["EMAIL", "PHONE"]}}),
    Document("subscription { interactionUpdated { id customer { name email phone company"
             " address { street city postalCode country } tags stage customFields emailOptOut"
             " deletedAt owner { name email role isActive } mergedInto { id email } } } }", {}),
    Document("subscription($n: Int) { emailStatusChanged { id createdBy { email role } email {"
             " status attempts lastError sentAt messageId } customer { orderCount lastOrderAt"
             " lastInteractionAt lifetimeValue { amount currency } interactions(first: $n) {"
             " totalCount edges { cursor node { id subject email { status } } } pageInfo {"
             " hasNextPage endCursor } } orders(first: 2) { nodes { id status total { amount"
             " currency } lineItems { sku quantity } } } prediction { churnRisk segment"
             " expectedRevenue { amount } } } } }", {"n": 2}),
]


World = tuple[dict[str, Context], list[Interaction]]


@pytest.fixture(scope="module")
async def world(settings: Any) -> World:
    """A context per principal of one organization with varied data, and its interactions."""
    tokens, _ = await _world(settings)
    contexts = {}
    for name, token in tokens.items():
        if token is None or name == "other organization":
            continue  # no group: an anonymous socket never streams; events stay in their org
        viewer = await viewer_for(token, settings)
        contexts[name] = Context(request=None, response=None,  # type: ignore[arg-type]
                                 settings=settings, request_id="r", viewer=viewer)
    org_id = next(iter(contexts.values())).require_viewer().organization_id
    ids = [row["id"] for row in await fetch(
        "SELECT id FROM interaction WHERE organization_id = $1 ORDER BY id", [org_id])]
    first = await InteractionModel.get(id=ids[0])
    emailed = await make_interaction(await first.customer, channel=Channel.EMAIL,
                                     direction=Direction.OUTBOUND, metadata={"ü": [1, 2.5]})
    await make_email_message(emailed)
    rows = await interactions.get_many(org_id=org_id, ids=[*ids, emailed.id])
    events = {rows[i]["channel"]: i for i in ids}  # one of each channel
    # and one with an email delivery, and the last (its customer was merged away)
    picked = dict.fromkeys([*list(events.values())[:EVENTS], emailed.id, ids[-1]])
    return contexts, [Interaction.from_row(rows[i]) for i in picked]


def _generated(compiler: Compiler, seed: int) -> list[Document]:
    """Random selections (aliases, fragments, variables, nulls, errors) under each root."""
    schema = compiler.schema._schema
    # Customer.companies leads to memberships, companies, deals and tasks, which have no batched
    # counterparts yet (issue 16): a draw reaching them would fail the test by chance
    generator = Generator(schema, _no_ids(), seed, skip=SKIP_FIELDS | {"companies"})
    interaction = schema.get_type("Interaction")
    documents = []
    for n in range(GENERATED):
        generator.fragments, generator.variables, generator.variable_defs = [], {}, []
        body = generator.selection(interaction, depth=1)  # type: ignore[arg-type]
        defs = f"({', '.join(generator.variable_defs)})" if generator.variable_defs else ""
        text = f"subscription S{defs} {{ {ROOTS[n % 3]} {{ {body} }} }}"
        documents.append(Document(" ".join([text, *generator.fragments]), generator.variables))
    return documents


def _no_ids() -> Any:
    from tests.compiled.corpus import Ids

    return Ids({})


async def _both(compiler: Compiler, context: Context, document: Document, event: Interaction
                ) -> tuple[bytes | None, bytes | None]:
    """The compiled and the generic payload of one group's event (None: not shared)."""
    renderer = Renderer(compiler.schema, context, document.query, None, document.variables,
                        compiler.events.renderer(document.query, None, document.variables))
    assert renderer.compiled is not None
    fresh = copy.copy(context)
    fresh.reset_loaders()
    data = await renderer.compiled(event, fresh)
    compiled = None if data is None else orjson.dumps({"data": data})
    return compiled, await renderer.generic(event)


@pytest.mark.parametrize("seed", [3])
async def test_compiled_subscription_payloads_are_the_generic_bytes(app, world, seed) -> None:
    compiler: Compiler = app.state.compiler
    contexts, events = world
    documents = SELECTIONS + _generated(compiler, seed)
    served: Counter[str] = Counter()
    differences = []
    for document in documents:
        plan = compiler.events.plan_for(document.query, None)
        if plan == "invalid":
            served["invalid"] += 1  # refused when subscribing: never rendered
            continue
        if isinstance(plan, str) and plan.startswith("resolver "):
            # a field with no batched counterpart (Customer.companies): the generic executor
            # serves the whole document, by design
            served["generic"] += 1
            continue
        assert not isinstance(plan, str), plan
        for principal, context in contexts.items():
            viewer = context.require_viewer()
            # a key without a scope the document may need is left to the generic executor,
            # which refuses the field where it resolves (not under a null customer)
            unscoped = viewer.is_key and not all(viewer.has_scope(s) for s in plan.scopes)
            for event in events:
                compiled, generic = await _both(compiler, context, document, event)
                if compiled is None:
                    served["declined"] += 1
                    # otherwise only results with errors are declined (not shared)
                    if generic is not None and not unscoped:
                        differences.append(f"declined {principal}: {document.query}")
                    continue
                served["compiled"] += 1
                if compiled != generic:
                    differences.append(f"{principal}: {document.query}\n{compiled!r}\n"
                                       f"{generic!r}")
    assert not differences, "\n\n".join(differences[:5])
    # the hand-written selections compile for every principal that may read what they ask
    assert served["compiled"] >= len(SELECTIONS) * len(events) * 5, served
    assert served["compiled"] > served["declined"] + served["invalid"], served


async def test_pii_is_masked_alike_for_keys_without_pii_read(app, world) -> None:
    compiler: Compiler = app.state.compiler
    contexts, events = world
    document = SELECTIONS[2]
    masked, clear = [], []
    for event in events:
        for name, out in (("key without pii:read", masked), ("key with pii:read", clear)):
            compiled, generic = await _both(compiler, contexts[name], document, event)
            assert compiled is not None
            assert compiled == generic
            out.append(orjson.loads(compiled)["data"]["interactionUpdated"]["customer"])
    assert any("***" in (c["email"] or "") for c in masked if c)
    assert any(c and "@" in (c["email"] or "") for c in clear)
    assert not any("***" in (c["email"] or "") for c in clear if c)


async def test_unsupported_selections_render_on_the_generic_executor_counted(
    app, world
) -> None:
    compiler: Compiler = app.state.compiler
    contexts, events = world
    document = Document("subscription($x: Boolean!) { interactionCreated { id"
                        " subject @include(if: $x) } }", {"x": False})
    context = contexts["VIEWER"]
    before = compiler.events.counts["generic: directives"]
    renderer = Renderer(compiler.schema, context, document.query, None, document.variables,
                        compiler.events.renderer(document.query, None, document.variables))
    payload = await renderer(events[0])
    assert payload == await renderer.generic(events[0])
    assert orjson.loads(payload or b"null")["data"]["interactionCreated"] == {"id": events[0].id}
    assert compiler.events.counts["generic: directives"] == before + 1


async def test_events_a_plan_declines_fall_back_and_are_counted(app, world, settings) -> None:
    compiler: Compiler = app.state.compiler
    contexts, events = world
    document = Document("subscription { interactionCreated { id customer { name } } }", {})
    before = compiler.events.counts["fallback: scope"]
    org_id = contexts["ADMIN"].require_viewer().organization_id
    viewer = await viewer_for(await make_key(org_id, ["interactions:read"]), settings)
    context = dataclasses.replace(contexts["ADMIN"], viewer=viewer)
    renderer = Renderer(compiler.schema, context, document.query, None, None,
                        compiler.events.renderer(document.query, None, None))
    # the generic executor refuses the nested field: a result with errors is not shared
    assert await renderer(events[0]) is None
    assert compiler.events.counts["fallback: scope"] == before + 1


def test_only_subscription_documents_get_event_plans(app) -> None:
    plans = app.state.compiler.events
    assert plans.plan_for("query { customers { totalCount } }", None) == "query operation"
    assert plans.plan_for("subscription { interactionCreated { id } }", None) is (
        plans.plan_for("subscription { interactionCreated { id } }", None))
    assert plans.plan_for("subscription { nope }", None) == "invalid"
