"""Search that forgives: word-level trigram similarity over an indexed text expression.

A search term matches a row when its text holds the term as a substring (as before), or when
every word of the term is close to some word of the text (``expr %> word``: pg_trgm's
word_similarity at or above ``pg_trgm.word_similarity_threshold``, 0.6 by default). Each word is
its own condition, so the words may come in any order and middle names may be left out; a word
of six letters or more survives a one-letter typo ("Goddard" finds "Godard"). Every condition is
served by the expression's GIN trigram index (a BitmapAnd/BitmapOr of index scans).

Customers, a million of them, go through a dictionary instead: ``search_word`` holds every
alphabetic word customers' names, emails and companies contain (kept by a trigger), trigram-
indexed; each word of the term picks its close dictionary words there (strict word similarity
``%>>`` >= 0.5: whole words, so "mora" picks "moral" but not "zamora"), and customers holding one
of them are found by the GIN index on their ``search_words`` array. Two small index lookups per
word, rather than one over the long trigram lists of a million texts. Words with digits (phone
numbers) match as substrings of the text.

Ranking adds the whole term's word similarity (the best stretch of the text it matches: "Sara
Mora" is closer to "Sara Mora" than to "Sara Ledesma Mora") and its similarity to the whole
text (which extra words lower: "Sara Mora" before "Sara Mora Diaz").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from db.pagination import Sort
from db.sql import Params, escape_like

MAX_WORDS = 8
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Match:
    """A search's SQL condition and the ranking expression over the same parameters."""

    condition: str
    rank: str


def words(term: str) -> list[str]:
    """The distinct lower-case words of a search term, at most MAX_WORDS."""
    return list(dict.fromkeys(_WORD.findall(term.lower())))[:MAX_WORDS]


def match(expr: str, term: str, params: Params) -> Match:
    """Rows whose lower-case ``expr`` is close to each word of ``term`` (or, for a single word
    or a term with punctuation such as an email, also contains it as a substring)."""
    text = term.strip().lower()
    found = words(text)
    plain = len(found) > 1 and " ".join(found) == " ".join(text.split())
    like = "" if plain else f"{expr} LIKE {params.add('%' + escape_like(text) + '%')}"
    if not found:
        return Match(like, "0::float8")
    placeholders = [params.add(w) for w in found]
    near = " AND ".join(f"{expr} %> {w}" for w in placeholders)
    # every parameter appears in the condition too, so a count over it binds them all
    whole = " || ' ' || ".join(placeholders)
    rank = f"(word_similarity({whole}, {expr}) + similarity({whole}, {expr}))::float8"
    if plain:
        # plain words: each word's condition covers the substring (its words are in the text)
        return Match(f"({near})", rank)
    return Match(f"({like} OR ({near}))", rank)


def match_words(expr: str, words_expr: str, term: str, params: Params) -> Match:
    """Like ``match``, through the word dictionary: ``words_expr`` is the rows' word array."""
    text = term.strip().lower()
    found = words(text)
    plain = len(found) > 1 and " ".join(found) == " ".join(text.split())
    like = "" if plain else f"{expr} LIKE {params.add('%' + escape_like(text) + '%')}"
    if not found:
        return Match(like, "0::float8")
    placeholders = [params.add(w) for w in found]
    near = " AND ".join(
        f"{expr} LIKE '%' || {w} || '%'" if any(ch.isdigit() for ch in word) else
        f"{words_expr} && ARRAY(SELECT d.word FROM search_word d WHERE d.word %>> {w})"
        for w, word in zip(placeholders, found, strict=True)
    )
    whole = " || ' ' || ".join(placeholders)
    rank = f"(word_similarity({whole}, {expr}) + similarity({whole}, {expr}))::float8"
    return Match(f"({near})" if plain else f"({like} OR ({near}))", rank)


def relevance(rank: str) -> Sort:
    """Best match first (ties by newest id): the ordering RELEVANCE of a search."""
    return Sort("RELEVANCE", rank, "number", descending=True)
