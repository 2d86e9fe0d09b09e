"""A database error as a user should read it: the driver's first line (`ORA-01031: …`), not
SQLAlchemy's wrapper with the statement and its binds, and without any URL's credentials."""

from __future__ import annotations

import re

from orchestrate.config import without_credentials


def first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return without_credentials(text[0][:240] if text else type(orig).__name__)


def ora_code(exc: BaseException) -> int | None:
    m = re.search(r"ORA-(\d{5})", first_line(exc))
    return int(m.group(1)) if m else None
