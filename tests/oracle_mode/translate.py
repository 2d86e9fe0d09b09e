"""Oracle statement text → what SQLite runs in its place.

Only what the target and wms-ops send: plain DML and queries go through sqlglot
(``read="oracle", write="sqlite"``); what SQLite lacks is translated by hand — ``MERGE``
(→ ``INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE``), the DDL shapes (Oracle type text
kept as the declared type, which SQLite stores verbatim, so the data dictionary can
answer with it), ``ALTER TABLE … ADD (…)`` / ``MODIFY`` / ``SET UNUSED``. Anything else
raises :class:`EmulatorGap`: the emulator must not guess.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.dialects.oracle import Oracle
from sqlglot.time import format_time

_NAME = r'(?:"[^"]+"|[A-Za-z][A-Za-z0-9_$#]*)'
_REF = rf"(?P<ref>{_NAME}(?:\.{_NAME})?)"


class EmulatorGap(NotImplementedError):
    """A statement the emulator cannot run faithfully (extend it; do not work around it)."""


@dataclass
class Ddl:
    """A DDL statement, parsed: what it does, to which object, with which parts."""

    action: str  # create_table | add | modify | drop_column | rename_column | drop_table |
    # create_index | drop_index | truncate | noop
    ref: str = ""
    columns: list[tuple[str, str, bool]] = field(default_factory=list)  # name, type, not null
    constraints: list[str] = field(default_factory=list)
    temporary: bool = False
    index: str = ""
    unique: bool = False
    names: list[str] = field(default_factory=list)


def unquote(name: str) -> str:
    """Oracle's name for an identifier: quoted keeps its case, unquoted is upper-cased."""
    return name[1:-1] if name.startswith('"') else name.upper()


def split_ref(ref: str) -> tuple[str | None, str]:
    """``OWNER.T`` → (OWNER, T), names as Oracle stores them."""
    parts = re.findall(_NAME, ref)
    if len(parts) == 2:
        return unquote(parts[0]), unquote(parts[1])
    return None, unquote(parts[0])


def split_top(body: str) -> list[str]:
    """Split on commas outside parentheses and quotes."""
    out, depth, cur, quote = [], 0, [], ""
    for ch in body:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def _column(part: str) -> tuple[str, str, bool]:
    m = re.match(rf"\s*({_NAME})\s+(.*)$", part, re.S)
    if not m:
        raise EmulatorGap(f"column definition not understood: {part!r}")
    name, rest = unquote(m.group(1)), m.group(2).strip()
    not_null = bool(re.search(r"\bNOT\s+NULL\b", rest, re.I))
    ctype = re.split(r"\s+(?:NOT\s+NULL|NULL|DEFAULT|PRIMARY\s+KEY|CONSTRAINT)\b", rest,
                     flags=re.I)[0].strip()
    if re.search(r"\bDEFAULT\b|\bPRIMARY\s+KEY\b|\bCONSTRAINT\b", rest, re.I):
        raise EmulatorGap(f"column clause not emulated: {part!r}")
    return name, " ".join(ctype.upper().split()), not_null


def parse_ddl(sql: str) -> Ddl:
    """The DDL shapes the target sends, parsed; anything else is an :class:`EmulatorGap`."""
    text = " ".join(sql.strip().rstrip(";").split())
    m = re.fullmatch(rf"CREATE (?P<gtt>GLOBAL TEMPORARY )?TABLE {_REF} \((?P<body>.*)\)"
                     r"(?P<tail> ON COMMIT (?:DELETE|PRESERVE) ROWS)?", text, re.I)
    if m:
        if m.group("tail") and "PRESERVE" in m.group("tail").upper():
            raise EmulatorGap("ON COMMIT PRESERVE ROWS is not emulated")
        ddl = Ddl("create_table", m.group("ref"), temporary=bool(m.group("gtt")))
        for part in split_top(m.group("body")):
            if re.match(r"(CONSTRAINT|PRIMARY\s+KEY|UNIQUE)\b", part, re.I):
                ddl.constraints.append(part)
            else:
                ddl.columns.append(_column(part))
        return ddl
    m = re.fullmatch(rf"ALTER TABLE {_REF} (?P<verb>ADD|MODIFY) \((?P<body>.*)\)", text, re.I)
    if m:
        return Ddl(m.group("verb").lower(), m.group("ref"),
                   columns=[_column(p) for p in split_top(m.group("body"))])
    m = re.fullmatch(rf"ALTER TABLE {_REF} (?:DROP|SET UNUSED) "
                     rf"(?:COLUMN (?P<one>{_NAME})|\((?P<many>[^)]*)\))", text, re.I)
    if m:
        names = [m.group("one")] if m.group("one") else split_top(m.group("many"))
        return Ddl("drop_column", m.group("ref"), names=[unquote(n) for n in names])
    m = re.fullmatch(rf"ALTER TABLE {_REF} RENAME COLUMN ({_NAME}) TO ({_NAME})", text, re.I)
    if m:
        return Ddl("rename_column", m.group("ref"),
                   names=[unquote(m.group(2)), unquote(m.group(3))])
    m = re.fullmatch(rf"DROP TABLE {_REF}( CASCADE CONSTRAINTS)?( PURGE)?", text, re.I)
    if m:
        return Ddl("drop_table", m.group("ref"))
    m = re.fullmatch(rf"TRUNCATE TABLE {_REF}", text, re.I)
    if m:
        return Ddl("truncate", m.group("ref"))
    m = re.fullmatch(rf"CREATE (?P<u>UNIQUE )?INDEX (?P<ix>{_NAME}(?:\.{_NAME})?) ON {_REF} "
                     r"\((?P<cols>[^)]*)\)", text, re.I)
    if m:
        return Ddl("create_index", m.group("ref"), index=m.group("ix"), unique=bool(m.group("u")),
                   names=[unquote(c.strip()) for c in split_top(m.group("cols"))])
    m = re.fullmatch(rf"DROP INDEX (?P<ix>{_NAME}(?:\.{_NAME})?)", text, re.I)
    if m:
        return Ddl("drop_index", index=m.group("ix"))
    if re.match(r"COMMENT ON ", text, re.I):
        return Ddl("noop")
    raise EmulatorGap(f"DDL not emulated: {text[:200]}")


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


Schemas = tuple[tuple[str, str], ...]  # (Oracle schema, SQLite database) pairs


@functools.lru_cache(maxsize=1024)
def dml(sql: str, current: str = "main", schemas: Schemas = ()) -> str:
    """A DML statement or query for SQLite (MERGE by hand, the rest through sqlglot).

    Table names are qualified with their SQLite database: ``current`` (the login's schema)
    for an unqualified name — SQLite would otherwise search every attached schema, which
    Oracle never does.
    """
    try:
        tree = sqlglot.parse_one(sql, read="oracle", error_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.SqlglotError as exc:
        raise EmulatorGap(f"cannot parse as Oracle SQL: {exc}; statement: {sql[:300]}") from exc
    if isinstance(tree, exp.Command):
        raise EmulatorGap(f"statement not emulated: {sql[:200]}")
    duplicates(tree)
    _oracle_to_date(tree)
    tree = qualify(tree, current, dict(schemas))
    if isinstance(tree, exp.Merge):
        return merge(tree).sql
    limited = _rownum(tree)
    if limited is not None:
        return limited
    return tree.sql(dialect="sqlite")


def _oracle_to_date(tree: exp.Expression) -> None:
    """sqlglot reads Oracle's TO_DATE as its own StrToDate and writes STR_TO_DATE, which
    SQLite lacks: give it back to the emulator's TO_DATE (`catalog.to_date`), which checks
    the value against Oracle's format (a DATE column bound by the target as text)."""
    for node in list(tree.find_all(exp.StrToDate)):
        fmt = node.args.get("format")
        text = format_time(fmt.name, Oracle.INVERSE_TIME_MAPPING) if fmt is not None else ""
        node.replace(exp.Anonymous(this="TO_DATE",
                                   expressions=[node.this, exp.Literal.string(text or "")]))


def _name(node: exp.Expression) -> str:
    ident = node if isinstance(node, exp.Identifier) else None
    if ident is not None:
        return ident.this if ident.quoted else ident.this.upper()
    name = node.alias_or_name
    quoted = isinstance(node.args.get("alias"), exp.TableAlias) or bool(
        getattr(node.args.get("alias") or node.args.get("this"), "quoted", False))
    return name if quoted else name.upper()


def duplicates(tree: exp.Expression) -> None:
    """Oracle refuses a column twice in an INSERT list (ORA-00957) and a name twice in an
    inline view's select list (ORA-00918); SQLite silently takes one of them."""
    from tests.oracle_mode.contract import oracle_error

    if isinstance(tree, exp.Insert) and isinstance(tree.this, exp.Schema):
        names = [_name(c) for c in tree.this.expressions]
        if len(names) != len(set(names)):
            raise oracle_error(957, "duplicate column name")
    for sub in tree.find_all(exp.Subquery):
        if isinstance(sub.this, exp.Select):
            names = [_name(e) for e in sub.this.expressions
                     if isinstance(e, (exp.Column, exp.Alias)) and not e.is_star]
            if len(names) != len(set(names)):
                raise oracle_error(918, "column ambiguously defined")


def qualify(tree: exp.Expression, current: str, schemas: dict[str, str]) -> exp.Expression:
    """Every table (and schema-qualified column) named with its SQLite database."""
    from tests.oracle_mode.contract import oracle_error
    from tests.oracle_mode.dictionary import VIEWS

    ctes = {c.alias_or_name.upper() for c in tree.find_all(exp.CTE)}

    def db_of(ident: exp.Identifier) -> exp.Identifier:
        name = ident.this if ident.quoted else ident.this.upper()
        db = schemas.get(name) if schemas else (current if name == current else None)
        if db is None:
            raise oracle_error(942, "table or view does not exist")
        return exp.to_identifier(db, quoted=True)

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            name = node.name.upper()
            db = node.args.get("db")
            if db is not None:
                node.set("db", db_of(db))
            elif name not in VIEWS and name not in ctes:
                node.set("db", exp.to_identifier(current, quoted=True))
        elif isinstance(node, exp.Column) and node.args.get("db") is not None:
            node.set("db", db_of(node.args["db"]))
        return node

    return tree.transform(fix, copy=True)


def _rownum(tree: exp.Expression) -> str | None:
    """``… WHERE cond AND ROWNUM <= n`` (a top-level conjunct): at most n rows.

    A SELECT gets ``LIMIT n``; an UPDATE / DELETE gets ``rowid IN (SELECT rowid … LIMIT n)``.
    Any other use of ROWNUM is an :class:`EmulatorGap`.
    """
    if not any(c.name.upper() == "ROWNUM" and not c.table for c in tree.find_all(exp.Column)):
        return None
    where = tree.args.get("where")
    conjuncts = ([] if where is None else list(where.this.flatten())
                 if isinstance(where.this, exp.And) else [where.this])
    limit: exp.Expression | None = None
    rest = []
    for c in conjuncts:
        if (isinstance(c, (exp.LTE, exp.LT)) and isinstance(c.this, exp.Column)
                and c.this.name.upper() == "ROWNUM" and not c.this.table):
            limit = c.expression if isinstance(c, exp.LTE) else exp.Sub(
                this=c.expression.copy(), expression=exp.Literal.number(1))
        else:
            rest.append(c)
    if limit is None or not isinstance(tree, (exp.Select, exp.Update, exp.Delete)):
        raise EmulatorGap(f"ROWNUM use not emulated: {tree.sql()[:200]}")
    cond = exp.and_(*rest) if rest else exp.true()
    if isinstance(tree, exp.Select):
        out = tree.copy()
        out.set("where", exp.Where(this=cond))
        return f"{out.sql(dialect='sqlite')} LIMIT {limit.sql(dialect='sqlite')}"
    table = tree.this
    inner = (f"SELECT rowid FROM {table.sql(dialect='sqlite')} WHERE "
             f"{cond.sql(dialect='sqlite')} LIMIT {limit.sql(dialect='sqlite')}")
    out = tree.copy()
    out.set("where", exp.Where(this=exp.condition(f"rowid IN ({inner})", dialect="sqlite")))
    return str(out.sql(dialect="sqlite"))


@dataclass(frozen=True)
class Merge:
    """A MERGE as SQLite runs it, plus the probes Oracle's MERGE rules need."""

    sql: str
    target: str
    source: str
    keys: tuple[str, ...]
    on: str
    t_alias: str = "t"
    s_alias: str = "s"


def _cols_of(node: exp.Expression, alias: str) -> list[str]:
    return [c.name for c in node.find_all(exp.Column) if c.table == alias]


@functools.lru_cache(maxsize=256)
def merge_plan(sql: str, current: str = "main", schemas: Schemas = ()) -> Merge:
    parsed = sqlglot.parse_one(sql, read="oracle")
    duplicates(parsed)
    tree = qualify(parsed, current, dict(schemas))
    assert isinstance(tree, exp.Merge)
    return merge(tree)


def merge(tree: exp.Merge) -> Merge:
    """``MERGE INTO t USING s ON (keys) WHEN MATCHED … WHEN NOT MATCHED …`` → an upsert.

    The ON clause must be equality of the target's key columns with the source's (what
    SQLite's ``ON CONFLICT`` needs); a source column feeds ``excluded.<same name>``.
    """
    target, source = tree.this, tree.args["using"]
    t_alias, s_alias = target.alias, source.alias
    if not (t_alias and s_alias):
        raise EmulatorGap("MERGE without target and source aliases")
    on = tree.args["on"].unnest()
    pairs = list(on.flatten()) if isinstance(on, exp.And) else [on]
    keys: list[str] = []
    for eq in pairs:
        if not isinstance(eq, exp.EQ):
            raise EmulatorGap(f"MERGE ON must be key equalities: {on.sql()}")
        cols = {c.table: c.name for c in (eq.this, eq.expression) if isinstance(c, exp.Column)}
        if set(cols) != {t_alias, s_alias} or cols[t_alias] != cols[s_alias]:
            raise EmulatorGap(f"MERGE ON must be t.K = s.K: {eq.sql()}")
        keys.append(cols[t_alias])
    update, insert = None, None
    for when in tree.args["whens"].expressions:
        if when.args.get("matched"):
            update = when.args["then"]
        else:
            insert = when.args["then"]
    if insert is None:
        raise EmulatorGap("MERGE without WHEN NOT MATCHED is not emulated")
    names = [c.name for c in insert.this.expressions]
    values = insert.expression.expressions
    tgt = exp.Table(this=target.this.copy(), db=target.args.get("db"))
    src = source.copy()
    src.set("alias", None)
    body = (f"INSERT INTO {tgt.sql('sqlite')} AS {t_alias} ({', '.join(q(n) for n in names)}) "
            f"SELECT {', '.join(v.sql('sqlite') for v in values)} FROM {src.sql('sqlite')} "
            f"AS {s_alias} WHERE true ON CONFLICT ({', '.join(q(k) for k in keys)})")
    if update is None or not update.expressions:
        body += " DO NOTHING"
    else:
        def excluded(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and node.table == s_alias:
                if node.name not in names:
                    raise EmulatorGap(f"MERGE update reads s.{node.name}, not inserted")
                return exp.column(node.name, table="excluded", quoted=True)
            return node

        sets = []
        for eq in update.expressions:
            col = eq.this.name
            if col in keys:
                # Oracle refuses to update a column of the ON clause.
                raise MergeOnColumnUpdated(col)
            sets.append(f"{q(col)} = {eq.expression.transform(excluded).sql('sqlite')}")
        body += f" DO UPDATE SET {', '.join(sets)}"
        where = update.args.get("where")
        if where is not None:
            body += f" WHERE {where.this.transform(excluded).sql('sqlite')}"
    on_sql = " AND ".join(f"{t_alias}.{q(k)} = {s_alias}.{q(k)}" for k in keys)
    return Merge(body, tgt.sql("sqlite"), f"{src.sql('sqlite')} AS {s_alias}", tuple(keys),
                 on_sql, t_alias, s_alias)


class MergeOnColumnUpdated(ValueError):
    """ORA-38104: a column of the ON clause in the UPDATE SET."""
