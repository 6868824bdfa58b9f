"""How an SMS is split: GSM-7 when every character is in the GSM 03.38 alphabet, else UCS-2.

A single message holds 160 GSM-7 septets or 70 UCS-2 code units; a longer one is sent in
segments of 153 septets or 67 code units (the rest of each is the concatenation header). An
extension character (``{`` ``€`` ...) takes two septets and a surrogate pair two code units;
neither is split across segments, so segments are packed greedily.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"
_BASIC = frozenset(GSM7_BASIC)
_EXTENSION = frozenset(GSM7_EXTENSION)
SINGLE = {"GSM7": 160, "UCS2": 70}
PART = {"GSM7": 153, "UCS2": 67}


@dataclass(frozen=True)
class Segments:
    """The encoding of a text and how many SMS segments it takes."""

    encoding: str  # GSM7 or UCS2
    units: int  # septets (GSM7) or UTF-16 code units (UCS2)
    segments: int
    per_segment: int  # capacity of each segment at this length

    @property
    def remaining(self) -> int:
        """Units left in the last segment before another is needed."""
        return self.per_segment * self.segments - self.units if self.segments else self.per_segment


def _widths(text: str) -> tuple[str, list[int]]:
    if all(ch in _BASIC or ch in _EXTENSION for ch in text):
        return "GSM7", [2 if ch in _EXTENSION else 1 for ch in text]
    return "UCS2", [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def count(text: str) -> Segments:
    """The encoding and segment count of ``text`` as an SMS."""
    encoding, widths = _widths(text)
    units = sum(widths)
    if units == 0:
        return Segments(encoding, 0, 0, SINGLE[encoding])
    if units <= SINGLE[encoding]:
        return Segments(encoding, units, 1, SINGLE[encoding])
    capacity, segments, used = PART[encoding], 1, 0
    for width in widths:
        if used + width > capacity:
            segments += 1
            used = 0
        used += width
    return Segments(encoding, units, segments, capacity)
