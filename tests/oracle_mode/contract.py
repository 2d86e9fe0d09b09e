"""python-oracledb's rules for one statement, checked without a server.

Every statement the target (or wms-ops) sends in Oracle mode passes through
:func:`check_execute` / :func:`check_executemany` before the emulator runs it. The rules are
the driver's (thin mode) and the server's where the driver relays them:

* named binds found in the text — outside quotes, q-quotes and comments — are exactly the
  keys given: an extra key is ``DPY-4008``, a missing one ``DPY-4010`` (SQLite ignores the
  first and binds NULL for the second, which is why no SQLite test can see them);
* positional binds: one value per placeholder, for every row of ``executemany`` (``DPY-4009``;
  in SQL, unlike PL/SQL, each occurrence of a repeated name is its own position);
* ``setinputsizes`` declares one type per positional bind (or only names of the text);
* a LONG-typed bind is legal only in ``INSERT … VALUES`` (``ORA-00997``);
* identifiers fit the server's limit (128 bytes from 12.2, else 30: ``ORA-00972``);
* numbers fit an Oracle NUMBER (at most 40 significant digits, exponent ≤ 125:
  ``DPY-4003``).

Errors are raised as the driver raises them (same class, same text) so a failing test
names the defect; what has no driver error (DDL or direct path inside an open transaction,
see :mod:`tests.oracle_mode.dbapi`) raises :class:`ContractViolation`.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import oracledb
from oracledb import errors as _errors

DDL_VERBS = frozenset(("CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME", "GRANT", "REVOKE",
                       "COMMENT", "ANALYZE", "PURGE", "FLASHBACK", "AUDIT", "NOAUDIT"))
DML_VERBS = frozenset(("INSERT", "UPDATE", "DELETE", "MERGE"))

_IDENT_START = re.compile(r"[A-Za-z]")
_IDENT_CHARS = re.compile(r"[A-Za-z0-9_$#]*")
_BIND_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_$#]*|[0-9]+")
_Q_CLOSE = {"[": "]", "{": "}", "(": ")", "<": ">"}


class ContractViolation(AssertionError):
    """A statement sequence Oracle would accept but that breaks what the code assumes
    (e.g. DDL committing a transaction the code still means to roll back)."""


def oracle_error(code: int, text: str) -> oracledb.DatabaseError:
    """The exception python-oracledb raises for server error ``ORA-<code>``."""
    err = _errors._Error(f"ORA-{code:05d}: {text}", code=code)
    return err.exc_type(err)  # type: ignore[no-any-return]


def driver_error(num: int, **args: Any) -> oracledb.Error:
    """The exception python-oracledb raises for its own error ``DPY-<num>``."""
    return _errors._create_exception(num, **args)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Scanned:
    """What the driver sees in a statement's text: binds (in order) and identifiers."""

    binds: tuple[str, ...]  # upper-cased unless quoted, one entry per occurrence
    identifiers: tuple[str, ...]
    words: tuple[str, ...]  # upper-cased unquoted words, in order (for the statement kind)


def scan(sql: str) -> Scanned:
    """Split ``sql`` as the driver's statement parser does (quotes and comments skipped)."""
    binds: list[str] = []
    idents: list[str] = []
    words: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        nxt = sql[i + 1] if i + 1 < n else ""
        if ch == "-" and nxt == "-":
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif ch == "/" and nxt == "*":
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif ch in "qQ" and nxt == "'" and i + 2 < n and (i == 0 or not _is_word(sql[i - 1])):
            close = _Q_CLOSE.get(sql[i + 2], sql[i + 2])
            end = sql.find(close + "'", i + 3)
            i = n if end < 0 else end + 2
        elif ch == "'":
            i += 1
            while i < n:
                if sql[i] == "'":
                    if i + 1 < n and sql[i + 1] == "'":
                        i += 2
                        continue
                    break
                i += 1
            i += 1
        elif ch == '"':
            end = sql.find('"', i + 1)
            end = n if end < 0 else end
            idents.append(sql[i + 1:end])
            i = end + 1
        elif ch == ":" and nxt != "=":
            if nxt == '"':
                end = sql.find('"', i + 2)
                end = n if end < 0 else end
                binds.append(sql[i + 2:end])
                i = end + 1
                continue
            m = _BIND_NAME.match(sql, i + 1)
            if m:
                binds.append(m.group().upper())
                i = m.end()
            else:
                i += 1
        elif _IDENT_START.match(ch) and (i == 0 or not _is_word(sql[i - 1])):
            m = _IDENT_CHARS.match(sql, i + 1)
            end = m.end() if m else i + 1
            word = sql[i:end]
            words.append(word.upper())
            idents.append(word.upper())
            i = end
        else:
            i += 1
    return Scanned(tuple(binds), tuple(idents), tuple(words))


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch in "_$#"


def kind(sql: str) -> str:
    """``DDL``, ``DML``, ``QUERY`` or ``PLSQL`` — what the first word makes the statement."""
    words = scan(sql).words
    first = words[0] if words else ""
    if first in DDL_VERBS:
        return "DDL"
    if first in DML_VERBS:
        return "DML"
    if first in {"BEGIN", "DECLARE", "CALL"}:
        return "PLSQL"
    return "QUERY"


def _key(name: str) -> str:
    """How the driver matches a bind key to a placeholder (quoted names keep their case)."""
    return name[1:-1] if name.startswith('"') and name.endswith('"') else name.upper()


def check_named(scanned: Scanned, params: Mapping[str, Any]) -> None:
    """Exactly the text's names, no extra (DPY-4008) and none missing (DPY-4010)."""
    names = set(scanned.binds)
    for key in params:
        if _key(key) not in names:
            raise driver_error(_errors.ERR_INVALID_BIND_NAME, name=key)
    given = {_key(k) for k in params}
    for name in scanned.binds:
        if name not in given:
            raise driver_error(_errors.ERR_MISSING_BIND_VALUE, name=name)


def check_positional(scanned: Scanned, row: Sequence[Any], plsql: bool = False) -> None:
    """One value per placeholder (per distinct name in PL/SQL): DPY-4009."""
    expected = len(dict.fromkeys(scanned.binds)) if plsql else len(scanned.binds)
    if len(row) != expected:
        raise driver_error(_errors.ERR_WRONG_NUMBER_OF_POSITIONAL_BINDS,
                           expected_num=expected, actual_num=len(row))


def check_number(value: Any) -> None:
    """A Python number the driver can encode as an Oracle NUMBER, else DPY-4003."""
    if isinstance(value, bool) or not isinstance(value, (int, decimal.Decimal)):
        return
    dec = decimal.Decimal(value)
    if not dec.is_finite():
        raise driver_error(_errors.ERR_ORACLE_NUMBER_NO_REPR)
    if dec.is_zero():
        return
    _sign, digits, exp = dec.as_tuple()
    exponent = len(digits) + int(exp) - 1
    significant = len("".join(map(str, digits)).strip("0"))
    if significant > 40 or exponent > 125 or exponent < -130:
        raise driver_error(_errors.ERR_ORACLE_NUMBER_NO_REPR)


def check_identifiers(scanned: Scanned, max_bytes: int) -> None:
    """Every identifier within the server's limit: ORA-00972."""
    for ident in scanned.identifiers:
        if len(ident.encode()) > max_bytes:
            raise oracle_error(972, f'identifier is too long: "{ident[:40]}…" is '
                                    f"{len(ident.encode())} bytes, the limit is {max_bytes}")


def check_input_sizes(sql: str, scanned: Scanned, sizes: Sequence[Any] | Mapping[str, Any],
                      rows: Iterable[Any]) -> None:
    """``setinputsizes`` matches the binds; LONG binds only in ``INSERT … VALUES``."""
    if isinstance(sizes, Mapping):
        names = set(scanned.binds)
        for key in sizes:
            if _key(key) not in names:
                raise driver_error(_errors.ERR_INVALID_BIND_NAME, name=key)
        types = list(sizes.values())
    else:
        types = list(sizes)
        first = next(iter(rows), None)
        if first is not None and not isinstance(first, Mapping) and len(types) != len(first):
            raise ContractViolation(
                f"setinputsizes declared {len(types)} types for {len(first)} positional "
                f"binds in: {sql[:200]}")
    if any(t is oracledb.DB_TYPE_LONG for t in types) and not is_insert_values(sql):
        raise oracle_error(997, "illegal use of LONG datatype")


def is_insert_values(sql: str) -> bool:
    """``INSERT [hint] INTO t (…) VALUES (…)`` — the one place a LONG bind may go."""
    words = scan(sql).words
    return bool(words) and words[0] == "INSERT" and "VALUES" in words and "SELECT" not in words


def check_execute(sql: str, params: Any, *, max_ident_bytes: int = 128,
                  input_sizes: Sequence[Any] | Mapping[str, Any] | None = None) -> Scanned:
    """All the rules for one ``Cursor.execute``: those of an ``executemany`` of one row."""
    return check_executemany(sql, [{} if params is None else params],
                             max_ident_bytes=max_ident_bytes, input_sizes=input_sizes)


def check_executemany(sql: str, rows: Sequence[Any], *, max_ident_bytes: int = 128,
                      input_sizes: Sequence[Any] | Mapping[str, Any] | None = None
                      ) -> Scanned:
    """All the rules for one ``Cursor.executemany`` over ``rows``."""
    scanned = scan(sql)
    check_identifiers(scanned, max_ident_bytes)
    plsql = kind(sql) == "PLSQL"
    for row in rows:
        if isinstance(row, Mapping):
            check_named(scanned, row)
            values: Iterable[Any] = row.values()
        else:
            check_positional(scanned, row, plsql)
            values = row
        for v in values:
            check_number(v)
    if input_sizes:
        check_input_sizes(sql, scanned, input_sizes, rows)
    return scanned
