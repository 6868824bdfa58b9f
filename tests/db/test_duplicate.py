"""Duplicate detection in SQL: normalised keys, signals, scores, pairs and their order."""

from __future__ import annotations

from datetime import UTC, datetime

from db import duplicate as duplicates
from db.sql import fetch_one
from tests.factories import make_customer, make_org


async def _key(function: str, value: str) -> str | None:
    row = await fetch_one(f"SELECT {function}($1) AS k", [value])
    assert row is not None
    return row["k"]  # type: ignore[no-any-return]


async def test_email_key_ignores_case_tags_and_gmail_dots() -> None:
    assert await _key("crm_email_key", " Jane.Doe+News@Example.COM ") == "jane.doe@example.com"
    assert await _key("crm_email_key", "j.a.n.e+x@googlemail.com") == "jane@gmail.com"
    assert await _key("crm_email_key", "JANE@gmail.com") == "jane@gmail.com"


async def test_name_key_spells_out_umlauts_and_drops_accents_and_punctuation() -> None:
    assert await _key("crm_name_key", "Dr. José  Müller-Lüdenscheidt") == (
        "dr jose mueller luedenscheidt")
    assert await _key("crm_name_key", "Anna MUELLER") == await _key("crm_name_key", "Anna Müller")
    assert await _key("crm_name_key", "张三") == "张三"


async def test_candidates_find_planted_duplicates_best_first(org) -> None:  # type: ignore[no-untyped-def]
    jane = await make_customer(org, name="Jane Doe", email="jane.doe@gmail.com",
                               phone="+4915112345678", company="ACME", postal_code="10115")
    by_email = await make_customer(org, name="J. Doe", email="Jane.Doe+shop@googlemail.com")
    by_phone = await make_customer(org, name="Someone Else", email="x1@example.com",
                                   phone="+4915112345678")
    by_name = await make_customer(org, name="Jane  Doe", email="other@example.com",
                                  company="acme", postal_code="10115")
    await make_customer(org, name="Zoltan Kiraly", email="zk@example.com")
    await make_customer(org, name="Jane Doe", email="gone@example.com",
                        deleted_at=datetime.now(UTC))

    found = await duplicates.candidates(org_id=org.id, customer_id=jane.id, min_score=0.5,
                                        limit=10)

    assert [m.duplicate_id for m in found] == [by_email.id, by_phone.id, by_name.id]
    email, phone, name = found
    assert (email.signals["EMAIL"], email.score) == (1.0, 0.95)
    assert name.signals == {"NAME": 1.0, "COMPANY": 1.0, "POSTAL_CODE": 1.0}
    assert name.score == 0.85
    assert (phone.signals, phone.score) == ({"PHONE": 1.0}, 0.9)


async def test_umlauts_and_transliterations_are_the_same_name(org) -> None:  # type: ignore[no-untyped-def]
    mueller = await make_customer(org, name="Anna Müller", city="Köln")
    spelled = await make_customer(org, name="Anna Mueller", city="köln")
    typo = await make_customer(org, name="Ana Müler")

    found = {m.duplicate_id: m for m in await duplicates.candidates(
        org_id=org.id, customer_id=mueller.id, min_score=0.0, limit=10)}

    assert found[spelled.id].signals == {"NAME": 1.0, "CITY": 1.0}
    assert 0.3 <= found[typo.id].signals["NAME"] < 1.0  # trigrams catch the typo, less surely


async def test_unrelated_and_other_organizations_are_never_paired(org) -> None:  # type: ignore[no-untyped-def]
    ada = await make_customer(org, name="Ada Lovelace", email="ada@example.com",
                              phone="+442071234567")
    await make_customer(org, name="Grace Hopper", email="grace@example.com")
    other = await make_org()
    await make_customer(other, name="Ada Lovelace", email="ADA+x@example.com",
                        phone="+442071234567")

    assert await duplicates.candidates(org_id=org.id, customer_id=ada.id, min_score=0.0,
                                       limit=10) == []
    found = await duplicates.pairs(org_id=org.id, min_score=0.0, after=None, limit=10)
    assert found.matches == []
    assert await duplicates.candidates(org_id=other.id, customer_id=ada.id, min_score=0.0,
                                       limit=10) == []


async def test_pairs_walk_every_pair_once_in_id_order(org) -> None:  # type: ignore[no-untyped-def]
    a = await make_customer(org, name="Max Power", email="max@example.com", postal_code="1010")
    b = await make_customer(org, name="Max Power", email="MAX+1@example.com", postal_code="1010")
    c = await make_customer(org, name="Someone", email="c@example.com", phone="+33612345678")
    d = await make_customer(org, name="Other One", email="d@example.com", phone="+33612345678")
    e = await make_customer(org, name="Max Powers", email="e@example.com", postal_code="1010")
    await make_customer(org, name="Max Power", email="far@example.com")  # a shared name only
    await make_customer(org, name="Nobody Alike", email="n@example.com")
    expected = [(a.id, b.id), (a.id, e.id), (b.id, e.id), (c.id, d.id)]

    walked: list[tuple[int, int]] = []
    after, pages = None, 0
    while pages < 50:  # a window of two customers: some pages hold no pair, none is skipped
        page = await duplicates.pairs(org_id=org.id, min_score=0.5, after=after, limit=2,
                                      window=2)
        pages += 1
        walked.extend((m.customer_id, m.duplicate_id) for m in page.matches)
        if len(page.matches) == 2:
            after = walked[-1]
        elif page.scanned_to is not None:
            after = (page.scanned_to, 2**63 - 1)
        else:
            break

    assert walked == expected
    assert await duplicates.count_pairs(org_id=org.id, min_score=0.5) == 4
    assert await duplicates.count_pairs(org_id=org.id, min_score=0.9) == 2


async def test_similar_names_pair_within_a_postal_code_only(org) -> None:  # type: ignore[no-untyped-def]
    one = await make_customer(org, name="Katharina Schmidt", postal_code="80331", country="DE")
    two = await make_customer(org, name="Katharina Schmitt", postal_code="80331", country="DE")
    await make_customer(org, name="Katharina Schmit", postal_code="20095", country="DE")
    await make_customer(org, name="Katharina Schmitz", postal_code="80331", country="AT")

    found = (await duplicates.pairs(org_id=org.id, min_score=0.0, after=None, limit=10)).matches

    # similar (not equal) names pair only where the postal code and country are the same too
    assert [(m.customer_id, m.duplicate_id) for m in found] == [(one.id, two.id)]
    assert set(found[0].signals) == {"NAME", "POSTAL_CODE"}
