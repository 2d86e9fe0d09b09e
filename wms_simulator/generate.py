"""Deterministic base records, derived on demand from (seed, entity, id).

Nothing is materialised: a 1,000,000-record simulator keeps only its changes in memory. Base
``mod_ts`` is a monotone function of id with ties (``TIE_GROUP`` consecutive ids share one
instant), so "records with mod_ts >= X in (mod_ts, id) order" is an id range found by bisection.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import date, datetime, timedelta
from hashlib import shake_128
from typing import Any, NamedTuple

from wms_simulator.model import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    FK,
    INTEGER,
    STATUS,
    TEXT,
    Entity,
    Field,
)

MASK64 = (1 << 64) - 1
T0_US = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z
SPAN_US = 180 * 86_400_000_000  # base data spans 180 days
CLOCK_START_US = T0_US + SPAN_US + 86_400_000_000  # the change clock starts a day later
TIE_GROUP = 4
HOUR_US = 3_600_000_000

#: Facility id -> UTC offset in minutes. Facility 1 is the API user's default facility.
FACILITY_OFFSETS = {1: -180, 2: 60}
DEFAULT_OFFSET_MIN = -180
_EPOCH = datetime(1970, 1, 1)
_DAY0 = date(2024, 10, 1)
_DATES = [(_DAY0 + timedelta(days=i)).isoformat() for i in range(640)]

_USERS = ("WMSINT", "JSMITH", "MLOPEZ", "AUTO_ALLOC", "RF_PICK01", "HOST_IF")
_CITIES = ("Sao Paulo", "Curitiba", "Lagos", "Porto", "Recife", "Campinas", "Abuja")
_STATES = ("SP", "PR", "LA", "PE", "RJ", "MG")
_COUNTRIES = ("BR", "NG", "PT", "US")
_NAMES = (
    "Acme Retail",
    "Globex Stores",
    "Initech",
    "Umbrella Mart",
    "Stark Supply",
    "Wayne Outfitters",
    "Hooli Shop",
    "Vandelay Imports",
)
_CODES = {"company": ("CM_COMP", "ACME", "GLOBEX"), "facility": ("FAC1", "FAC2")}
_TZ = {1: "America/Sao_Paulo", 2: "Africa/Lagos"}
_STATUSES = {
    "order_hdr": (0, 10, 20, 30, 40, 50, 60, 90, 90, 90, 99),
    "order_dtl": (0, 10, 20, 30, 40, 90, 90, 90, 99),
    "allocation": (0, 10, 20, 90, 90),
}


def mix64(x: int) -> int:
    """splitmix64 finaliser: a cheap, well-spread hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def name_hash(seed: int, name: str) -> int:
    h = mix64(seed & MASK64)
    for ch in name.encode():
        h = mix64(h ^ ch)
    return h


def offset_str(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    m = abs(minutes)
    return f"{sign}{m // 60:02d}:{m % 60:02d}"


_OFFSETS = {m: offset_str(m) for m in (-180, 60, 0)}


def fmt_ts(inst_us: int, off_min: int) -> str:
    """Format an instant as the API does: local time, microseconds, the facility's offset."""
    local = _EPOCH + timedelta(microseconds=inst_us + off_min * 60_000_000)
    off = _OFFSETS.get(off_min) or offset_str(off_min)
    return local.isoformat(timespec="microseconds") + off


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class Ctx(NamedTuple):
    """What the field makers of one record share."""

    rid: int
    fac: int
    off: int
    inst: int
    create_inst: int
    parent: int


Maker = Callable[[int, Ctx], Any]


class Generator:
    """Builds the base record of one entity for any id (ids above ``count`` = inserted rows)."""

    def __init__(
        self,
        entity: Entity,
        seed: int,
        count: int,
        counts: dict[str, int],
        prefix: str,
        keys: dict[str, Callable[[int], str]],
    ) -> None:
        self.entity = entity
        self.name = entity.name
        self.count = count
        self.counts = counts
        self.prefix = prefix
        self.url_prefix = f"{prefix}{entity.name}/"
        self.keys = keys
        self.seed_e = name_hash(seed, entity.name)
        self.seed_fac = name_hash(seed, "facility-of-order")
        self.groups = max(1, ceil_div(count, TIE_GROUP))
        self.step = max(2, SPAN_US // self.groups)
        self.makers: list[tuple[str, int, Maker]] = [
            (f.name, int(f.null_rate * 1024), self._maker(f))
            for f in entity.fields
            if f.name != "id"
        ]
        # One SHAKE digest per record gives every field its own 64 random bits in one C call.
        self.seed_bytes = self.seed_e.to_bytes(8, "little")
        self.nbytes = 8 * len(self.makers)
        self.unpack = struct.Struct(f"<{len(self.makers)}Q").unpack
        self.compiled, self.needs_ctx = self._compile()

    # --- time and hierarchy ------------------------------------------------------------------
    def inst(self, rid: int) -> int:
        """Base mod_ts instant (µs since epoch, UTC) of base id ``rid``: monotone, with ties."""
        g = (rid - 1) // TIE_GROUP
        return T0_US + g * self.step + mix64(self.seed_e ^ g) % (self.step // 2)

    @property
    def max_inst(self) -> int:
        return self.inst(self.count)

    def parent_of(self, rid: int) -> int:
        """Parent id for the hierarchy order_hdr <- order_dtl <- allocation."""
        parent = {"order_dtl": "order_hdr", "allocation": "order_dtl"}.get(self.name)
        if parent is None:
            return 0
        n_parent = self.counts[parent]
        if rid <= self.count:
            return (rid - 1) * n_parent // self.count + 1
        return mix64(self.seed_e ^ rid) % n_parent + 1

    def hdr_facility(self, hdr_id: int) -> int:
        return 1 if mix64(self.seed_fac ^ hdr_id) % 10 < 7 else 2

    def facility(self, rid: int, parent: int) -> int:
        if self.name == "order_hdr":
            return self.hdr_facility(rid)
        if self.name == "order_dtl":
            return self.hdr_facility(parent)
        if self.name == "allocation":
            n_hdr, n_dtl = self.counts["order_hdr"], self.counts["order_dtl"]
            # allocation parents are always base order_dtl ids (inserted ones included).
            return self.hdr_facility((min(parent, n_dtl) - 1) * n_hdr // n_dtl + 1)
        if self.name == "facility":
            return rid if rid in FACILITY_OFFSETS else 1
        if "facility_id" in self.entity.by_name:
            return mix64(self.seed_e ^ rid ^ 0xFAC) % 2 + 1
        return 1

    def children(self, rid: int, child_count: int) -> int:
        """Base number of children of parent ``rid`` under the proportional mapping."""
        if rid > self.count:
            return 0
        return ceil_div(rid * child_count, self.count) - ceil_div(
            (rid - 1) * child_count, self.count
        )

    # --- records ---------------------------------------------------------------------------
    def record(
        self, rid: int, inst: int | None = None, create_inst: int | None = None
    ) -> dict[str, Any]:
        r = mix64(self.seed_e ^ rid)
        parent = self.parent_of(rid)
        fac = self.facility(rid, parent)
        if inst is None:
            inst = self.inst(rid)
        if create_inst is None:
            create_inst = inst - r % (5 * 86_400_000_000)
        off = FACILITY_OFFSETS.get(fac, DEFAULT_OFFSET_MIN)
        ctx = Ctx(rid, fac, off, inst, create_inst, parent) if self.needs_ctx else None
        bits = self.unpack(
            shake_128(self.seed_bytes + rid.to_bytes(8, "little")).digest(self.nbytes)
        )
        rec: dict[str, Any] = self.compiled(rid, bits, fac, off, inst, create_inst, parent, ctx)
        for s in self.entity.sets:
            n = self.children(rid, self.counts[s.child]) if s.child in self.counts else 0
            rec[s.name] = (
                {"result_count": n, "url": f"{self.prefix}{s.child}/?{s.fk}={rid}"} if n else None
            )
        return rec

    def _compile(self) -> tuple[Callable[..., dict[str, Any]], bool]:
        """Build one function whose body is a dict display with every field's expression.

        Calling a maker per field costs more than the values themselves; a compiled dict
        display roughly halves the cost of a record (records/s is what the benchmarks see).
        """
        env: dict[str, Any] = {"FMT": fmt_ts}
        items = [f'"id": rid, "url": {self.url_prefix!r} + str(rid) + "/"']
        needs_ctx = False
        for i, (name, nullcut, maker) in enumerate(self.makers):
            f = self.entity.by_name[name]
            expr = self._expr(f, f"(b[{i}] >> 10)", env, i)
            if expr is None:
                env[f"M{i}"] = maker
                expr = f"M{i}(b[{i}] >> 10, ctx)"
                needs_ctx = True
            if nullcut:
                expr = f"None if (b[{i}] & 1023) < {nullcut} else {expr}"
            items.append(f"{name!r}: {expr}")
        src = (
            "def _make(rid, b, fac, off, inst, cinst, parent, ctx):\n    return {"
            + ",\n        ".join(items)
            + "}\n"
        )
        exec(compile(src, f"<generated {self.name}>", "exec"), env)
        return env["_make"], needs_ctx

    def _expr(self, f: Field, v: str, env: dict[str, Any], i: int) -> str | None:
        """A Python expression for the field's value, or None to call its maker instead."""
        name, kind = f.name, f.kind
        if name in ("create_user", "mod_user"):
            env["USERS"] = _USERS
            return f"USERS[{v} % {len(_USERS)}]"
        if name == "mod_ts":
            return "FMT(inst, off)"
        if name == "create_ts":
            return "FMT(cinst, off)"
        if kind == DATETIME:
            return f"FMT(inst - {v} % {2 * 86_400_000_000}, off)"
        if name == "order_nbr":
            return 'f"ORD{rid:08d}"'
        if kind == FK:
            target = f.target or ""
            url = f"{self.prefix}{target}/"
            env[f"K{i}"] = self.keys[target]
            if (self.name, name) in (("order_dtl", "order_id"), ("allocation", "order_dtl_id")):
                return f'{{"id": parent, "key": K{i}(parent), "url": {url!r} + str(parent) + "/"}}'
            n = self.counts.get(target, 1)
            env[f"C{i}"] = [
                {"id": j, "key": self.keys[target](j), "url": f"{url}{j}/"} for j in range(1, n + 1)
            ]
            return f"C{i}[fac - 1]" if name == "facility_id" else f"C{i}[{v} % {n}]"
        if kind == STATUS:
            env[f"P{i}"] = pool = _STATUSES.get(self.name, (0, 10, 90))
            return f"P{i}[{v} % {len(pool)}]"
        if kind == INTEGER and name != "seq_nbr":
            return f"{v} % {100 if name == 'priority' else 10_000} + 1"
        if kind == DECIMAL:
            unit = 10**f.places
            return f'f"{{{v} % {1000 * unit} // {unit}}}.{{{v} % {unit}:0{f.places}d}}"'
        if kind == BOOLEAN:
            return f"{v} % 5 == 0"
        if kind == DATE:
            env["DATES"] = _DATES
            return f"DATES[{v} % {len(_DATES)}]"
        if kind == TEXT:
            return self._text_expr(f, v, env, i)
        return None

    def _text_expr(self, f: Field, v: str, env: dict[str, Any], i: int) -> str | None:
        name, n = f.name, f.max_length or 30
        pool = _text_pool(name, n)
        if pool is not None:
            env[f"T{i}"] = pool
            return f"T{i}[{v} % {len(pool)}]"
        if name.endswith(("_email", "_phone_nbr", "_addr", "_zip")) or name in (
            "pick_locn_str",
            "code",
            "time_zone",
        ):
            return None
        tag = "".join(p[0] for p in name.split("_") if p).upper()
        width = max(1, min(8, n - len(tag)))
        cut = "" if len(tag) + width <= n else f"[:{n}]"
        return f'f"{tag}{{{v} % {10**width}:0{width}d}}"{cut}'

    def _maker(self, f: Field) -> Maker:
        name, kind = f.name, f.kind
        if name in ("create_user", "mod_user"):
            return lambda v, c: _USERS[v % len(_USERS)]
        if name == "mod_ts":
            return lambda v, c: fmt_ts(c.inst, c.off)
        if name == "create_ts":
            return lambda v, c: fmt_ts(c.create_inst, c.off)
        if kind == DATETIME:
            return lambda v, c: fmt_ts(c.inst - v % (2 * 86_400_000_000), c.off)
        if name == "order_nbr":
            return lambda v, c: f"ORD{c.rid:08d}"
        if name == "code":
            ent = self.name
            return lambda v, c: self.keys[ent](c.rid)
        if name == "time_zone":
            return lambda v, c: _TZ.get(c.rid, "America/Sao_Paulo")
        if name == "seq_nbr":
            n_hdr, n_dtl = self.counts["order_hdr"], self.count
            return lambda v, c: (
                c.rid - ceil_div((c.parent - 1) * n_dtl, n_hdr) if c.rid <= n_dtl else 100 + v % 100
            )
        if kind == FK:
            return self._fk_maker(f)
        if kind == STATUS:
            pool = _STATUSES.get(self.name, (0, 10, 90))
            return lambda v, c: pool[v % len(pool)]
        if kind == INTEGER:
            mod = 100 if name == "priority" else 10_000
            return lambda v, c: v % mod + 1
        if kind == DECIMAL:
            p = f.places
            unit = 10**p
            top = 1000 * unit
            return lambda v, c: f"{(q := v % top) // unit}.{q % unit:0{p}d}"
        if kind == BOOLEAN:
            return lambda v, c: v % 5 == 0
        if kind == DATE:
            return lambda v, c: _DATES[v % len(_DATES)]
        assert kind == TEXT, kind
        return self._text_maker(f)

    def _fk_maker(self, f: Field) -> Maker:
        target = f.target or ""
        url = f"{self.prefix}{target}/"
        key = self.keys[target]
        parented = (self.name, f.name) in (
            ("order_dtl", "order_id"),
            ("allocation", "order_dtl_id"),
        )
        if parented:
            return lambda v, c: {"id": c.parent, "key": key(c.parent), "url": f"{url}{c.parent}/"}
        if f.name == "facility_id":
            return lambda v, c: {"id": c.fac, "key": key(c.fac), "url": f"{url}{c.fac}/"}
        n = self.counts.get(target, 1)
        cache = [{"id": i, "key": key(i), "url": f"{url}{i}/"} for i in range(1, n + 1)]
        # Shared, read-only FK objects for small targets: serving them is then a lookup.
        return lambda v, c: cache[v % n]

    def _text_maker(self, f: Field) -> Maker:
        name, n = f.name, f.max_length or 30
        pool_t = _text_pool(name, n)
        if pool_t is not None:
            return lambda v, c: pool_t[v % len(pool_t)]
        if name.endswith("_email"):
            return lambda v, c: f"buyer{v % 9973}@example.com"
        if name.endswith("_phone_nbr"):
            return lambda v, c: f"+55 11 9{v % 100_000_000:08d}"
        if name.endswith("_addr"):
            return lambda v, c: f"{v % 9000 + 10} Rua {_NAMES[v % len(_NAMES)].split()[0]}"
        if name.endswith("_zip"):
            return lambda v, c: f"{v % 100000:05d}-{v % 1000:03d}"
        if name == "pick_locn_str":
            return lambda v, c: f"A{v % 30:02d}-{v % 99:02d}-{v % 7}"
        tag = "".join(p[0] for p in name.split("_") if p).upper()
        width = max(1, min(8, n - len(tag)))
        mod = 10**width
        return lambda v, c: f"{tag}{v % mod:0{width}d}"[:n]


def _text_pool(name: str, n: int) -> tuple[str, ...] | None:
    for suffix, pool in (
        ("city", _CITIES),
        ("_state", _STATES),
        ("_country", _COUNTRIES),
        ("name", _NAMES),
        ("pick_user", _USERS),
        ("currency_code", ("BRL", "USD", "EUR")),
    ):
        if name.endswith(suffix):
            return tuple(s[:n] for s in pool)
    return None


def make_keys(counts: dict[str, int]) -> dict[str, Callable[[int], str]]:
    """Key of a record from its id alone, so FK objects never need the target record."""
    keys: dict[str, Callable[[int], str]] = {}
    for name in counts:
        if name == "order_hdr":
            keys[name] = lambda i: f"ORD{i:08d}"
        elif name in ("order_dtl", "allocation"):
            keys[name] = str
        elif name in _CODES:
            codes = _CODES[name]
            keys[name] = lambda i, codes=codes, name=name: (
                codes[i - 1] if 0 < i <= len(codes) else f"{name.upper()}{i}"
            )
        else:
            tag = name.upper()[:4]
            keys[name] = lambda i, tag=tag: f"{tag}{i:04d}"
    return keys
