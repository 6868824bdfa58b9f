"""SMS encoding and segments: GSM-7 septets (extension characters count twice), else UCS-2."""

from __future__ import annotations

import pytest

from services.messaging.segments import count


@pytest.mark.parametrize(("text", "encoding", "units", "segments"), [
    ("", "GSM7", 0, 0),
    ("a" * 160, "GSM7", 160, 1),
    ("a" * 161, "GSM7", 161, 2),
    ("a" * 306, "GSM7", 306, 2),
    ("a" * 307, "GSM7", 307, 3),
    ("€" * 80, "GSM7", 160, 1),  # an extension character takes two septets
    ("€" * 81, "GSM7", 162, 2),
    ("Ünïcödé? No: ï is not GSM-7", "UCS2", 27, 1),
    ("ж" * 70, "UCS2", 70, 1),
    ("ж" * 71, "UCS2", 71, 2),
    ("🙂" * 35, "UCS2", 70, 1),  # a surrogate pair is two code units
    ("🙂" * 36, "UCS2", 72, 2),
])
def test_encoding_and_segment_counts(text: str, encoding: str, units: int, segments: int) -> None:
    result = count(text)
    assert (result.encoding, result.units, result.segments) == (encoding, units, segments)


def test_an_extension_character_is_never_split_across_segments() -> None:
    # 152 septets, then "€" (2) would straddle the first segment's 153: it starts the second
    result = count("a" * 152 + "€" + "a" * 10)
    assert (result.units, result.segments) == (164, 2)
    assert count("a" * 152 + "€" + "a" * 151).segments == 2
    assert count("a" * 152 + "€" + "a" * 152).segments == 3  # 306 septets, yet three


def test_remaining_room_in_the_last_segment() -> None:
    assert count("hello").remaining == 155
    assert count("a" * 200).remaining == 106
