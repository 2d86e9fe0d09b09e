"""How a reject's reason quotes the value it refused.

A reason lands in ``REJECTS.REASON`` (4,000 bytes) and in logs: the value is shown so a user
can find it in WMS, but cut short (a 1 MB text, a 5,000-digit integer) and escaped (control
characters, lone surrogates) so the reason itself is always storable text.
"""

from __future__ import annotations

import typing as t
from decimal import Decimal

#: How much of a rejected value a reason quotes.
SHOWN_CHARS = 100


def show(value: t.Any) -> str:
    """``value`` as a reason quotes it: its ``repr`` (escapes control characters and lone
    surrogates), cut to about :data:`SHOWN_CHARS` characters."""
    if isinstance(value, str) and len(value) > SHOWN_CHARS:
        return f"{value[:SHOWN_CHARS]!r}… ({len(value)} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1000:
        return f"an integer of {len(str(Decimal(value)))} digits"  # str(int) stops at 4,300
    text = str(value) if isinstance(value, (int, float, Decimal)) else repr(value)
    return text if len(text) <= SHOWN_CHARS + 2 else f"{text[:SHOWN_CHARS]}…"
