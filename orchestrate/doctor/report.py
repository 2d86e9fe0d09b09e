"""The doctor's findings and how they are printed: one line per check, never a secret.

Every check yields a :class:`Check`; the command prints them as they come (a slow WMS should
not leave the screen blank) and exits 1 when any is a failure. Messages are built without
secrets, and :class:`Redactor` blanks every configured secret once more on the way out, since
an exception text from a driver or a proxy can quote what it was given.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

OK, WARN, FAIL = "ok", "warning", "fail"
MARKS = {OK: "✔", WARN: "!", FAIL: "✗"}


@dataclass(frozen=True)
class Check:
    """One finding: its group (wms, warehouse, projection, operations), what it checked,
    what it found and, for a failure, what to do about it."""

    group: str
    name: str
    status: str
    found: str
    fix: str | None = None

    def line(self) -> str:
        """`✗ wms.auth: found — fix: what to do`."""
        text = f"{MARKS[self.status]} {self.group}.{self.name}: {self.found}"
        return f"{text} — fix: {self.fix}" if self.fix else text


def ok(group: str, name: str, found: str) -> Check:
    return Check(group, name, OK, found)


def warn(group: str, name: str, found: str, fix: str | None = None) -> Check:
    return Check(group, name, WARN, found, fix)


def fail(group: str, name: str, found: str, fix: str) -> Check:
    return Check(group, name, FAIL, found, fix)


class Redactor:
    """Replaces each known secret (passwords, client secrets, tokens, webhook URLs) with ***."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.secrets: set[str] = set()
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 3:  # a 1-2 character "secret" would shred every line
            self.secrets.add(str(secret))

    def __call__(self, text: str) -> str:
        for s in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(s, "***")
        return text

    def check(self, c: Check) -> Check:
        return Check(c.group, c.name, c.status, self(c.found), self(c.fix) if c.fix else None)


def exit_code(checks: Iterable[Check]) -> int:
    """1 when any check failed: the first run would fail too."""
    return 1 if any(c.status == FAIL for c in checks) else 0


def as_json(checks: list[Check], environment: str, pipeline: str) -> str:
    """The whole report as one JSON document (for CI and scripts)."""
    return json.dumps({
        "environment": environment,
        "pipeline": pipeline,
        "ok": exit_code(checks) == 0,
        "counts": {s: sum(c.status == s for c in checks) for s in (OK, WARN, FAIL)},
        "checks": [asdict(c) for c in checks],
    }, indent=2, ensure_ascii=False)


def summary(checks: list[Check]) -> str:
    n = {s: sum(c.status == s for c in checks) for s in (OK, WARN, FAIL)}
    verdict = "not ready: fix the ✗ lines first" if n[FAIL] else "ready for the first run"
    return f"{n[OK]} ✔  {n[WARN]} !  {n[FAIL]} ✗ — {verdict}"
