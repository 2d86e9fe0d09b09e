"""Time helpers shared by every ops module.

Meltano's system DB stores naive UTC text, the warehouse may hand back datetimes or ISO text,
and operators type "7d" or an ISO date on the command line. Everything is normalised to aware
UTC datetimes here so comparisons never mix naive and aware values.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 60, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def utcnow() -> datetime:
    """Aware UTC now (one place to read the clock)."""
    return datetime.now(UTC)


def parse_ts(value: object) -> datetime | None:
    """Parse a DB or CLI timestamp into an aware UTC datetime; naive values are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        if " " in text and "T" not in text:
            text = text.replace(" ", "T", 1)
        dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_duration(text: str) -> timedelta:
    """Parse "90s", "30m", "2h", "7d", "1w" (a bare number means minutes)."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 2h, 7d)")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()])


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """A point in time from the CLI: an ISO timestamp or a duration from now ("2h")."""
    now = now or utcnow()
    try:
        return now + parse_duration(text)
    except ValueError:
        parsed = parse_ts(text)
        assert parsed is not None
        return parsed


def iso(dt: datetime | None) -> str | None:
    """Fixed-width ISO text in UTC, the form stored in the ops DB (sortable as text)."""
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def human_duration(seconds: float | None) -> str:
    """Short human form for tables and messages: 45s, 12m 05s, 3h 02m, 2d 04h."""
    if seconds is None:
        return "-"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {(s % 3600) // 60:02d}m"
    return f"{s // 86400}d {(s % 86400) // 3600:02d}h"
