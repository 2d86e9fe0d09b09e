"""Singer names → database identifiers, deterministically.

Rules (also in ``target_oracle/README.md``), applied in this order:

1. Every character outside ``[A-Za-z0-9_$#]`` becomes ``_``.
2. Case: upper case on Oracle (so the name works *unquoted*), lower case on SQLite.
3. A name starting with a digit gets the prefix ``C_`` (``1st`` → ``C_1ST``).
   A name starting with ``_`` keeps it (the Singer ``_sdc_*`` metadata columns, which
   ``docs/contracts.md`` names ``_SDC_DELETED_AT``); Oracle cannot take those unquoted, so
   they are the only names the target double-quotes (still upper case, so
   ``"_SDC_DELETED_AT"`` is what a reader types).
4. An Oracle reserved word gets a trailing ``_`` (``DATE`` → ``DATE_``), on both dialects,
   so a stream lands with the same column names everywhere.
5. Too long (more than the server's identifier limit in bytes: 128, or 30 on servers that
   report it): cut and end with ``_`` + 8 hex digits of the SHA-1 of the original name.
6. Collisions inside one table (``Order-Id`` and ``order_id``): names are assigned in
   sorted order of the *original* property names, the first keeps the name, later ones
   get ``_2``, ``_3``, … (re-shortened by rule 5 if needed). Sorting makes the result
   independent of the order properties arrive in, so every run maps the same way.
   The target's own names (:data:`RESERVED_COLUMNS`: the snapshot table's version and
   sequence columns, the dedup alias ``RN__``) count as taken before any property, so a
   property ``rn__`` becomes ``RN___2`` instead of a duplicate column (ORA-00957) or an
   ambiguous one (ORA-00918).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

# Oracle reserved words (V$RESERVED_WORDS with RESERVED='Y' plus the SQL keywords that
# cannot be used as unquoted column names).
ORACLE_RESERVED = frozenset(
    (
        "ACCESS", "ADD", "ALL", "ALTER", "AND", "ANY", "AS", "ASC", "AUDIT", "BETWEEN",
        "BY", "CHAR", "CHECK", "CLUSTER", "COLUMN", "COLUMN_VALUE", "COMMENT", "COMPRESS",
        "CONNECT", "CREATE", "CURRENT", "DATE", "DECIMAL", "DEFAULT", "DELETE", "DESC",
        "DISTINCT", "DROP", "ELSE", "EXCLUSIVE", "EXISTS", "FILE", "FLOAT", "FOR", "FROM",
        "GRANT", "GROUP", "HAVING", "IDENTIFIED", "IMMEDIATE", "IN", "INCREMENT", "INDEX",
        "INITIAL", "INSERT", "INTEGER", "INTERSECT", "INTO", "IS", "LEVEL", "LIKE", "LOCK",
        "LONG", "MAXEXTENTS", "MINUS", "MLSLABEL", "MODE", "MODIFY", "NESTED_TABLE_ID",
        "NOAUDIT", "NOCOMPRESS", "NOT", "NOWAIT", "NULL", "NUMBER", "OF", "OFFLINE", "ON",
        "ONLINE", "OPTION", "OR", "ORDER", "PCTFREE", "PRIOR", "PUBLIC", "RAW", "RENAME",
        "RESOURCE", "REVOKE", "ROW", "ROWID", "ROWNUM", "ROWS", "SELECT", "SESSION", "SET",
        "SHARE", "SIZE", "SMALLINT", "START", "SUCCESSFUL", "SYNONYM", "SYSDATE", "TABLE",
        "THEN", "TO", "TRIGGER", "UID", "UNION", "UNIQUE", "UPDATE", "USER", "VALIDATE",
        "VALUES", "VARCHAR", "VARCHAR2", "VIEW", "WHENEVER", "WHERE", "WITH",
    )
)

#: Column names the target itself uses next to the properties' (upper case).
RESERVED_COLUMNS = frozenset(("RN__", "_SDC_SNAPSHOT_VERSION", "_SDC_SNAPSHOT_SEQ"))

_BAD_CHARS = re.compile(r"[^A-Za-z0-9_$#]")
_PLAIN_ORACLE = re.compile(r"^[A-Z][A-Z0-9_$#]*$")


def _shorten(name: str, original: str, max_bytes: int) -> str:
    if len(name.encode()) <= max_bytes:
        return name
    digest = hashlib.sha1(original.encode()).hexdigest()[:8]
    return f"{name[: max_bytes - 9]}_{digest}"


def conform_identifier(name: str, *, upper: bool = True, max_bytes: int = 128) -> str:
    """Conform one Singer name (stream or property) by rules 1-5 of the module docstring."""
    out = _BAD_CHARS.sub("_", name.strip()) or "_"
    out = out.upper() if upper else out.lower()
    if out[0].isdigit():
        out = ("C_" if upper else "c_") + out
    if out.upper() in ORACLE_RESERVED:
        out += "_"
    return _shorten(out, name, max_bytes)


def assign_column_names(
    properties: Iterable[str], *, upper: bool = True, max_bytes: int = 128
) -> dict[str, str]:
    """Map property names to unique column names (rule 6: sorted, then ``_2``, ``_3``…)."""
    taken: set[str] = set(RESERVED_COLUMNS)
    mapping: dict[str, str] = {}
    for prop in sorted(properties):
        base = conform_identifier(prop, upper=upper, max_bytes=max_bytes)
        candidate, n = base, 1
        while candidate.upper() in taken:
            n += 1
            candidate = _shorten(f"{base}_{n}", f"{prop}#{n}", max_bytes)
        taken.add(candidate.upper())
        mapping[prop] = candidate
    return mapping


def needs_quotes_oracle(ident: str) -> bool:
    """True when Oracle can't take ``ident`` unquoted (leading ``_``/reserved/lower case)."""
    return not _PLAIN_ORACLE.match(ident) or ident in ORACLE_RESERVED
