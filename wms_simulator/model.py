"""Entity definitions: which entities the simulator serves and the shape of their fields.

One table of field specs drives everything else (generation, describe, filter parsing), so the
describe output and the served records cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Field kinds used internally. `fk` values are served as {id,key,url} objects; `status` is the
# plain-integer exception (status_id).
TEXT, INTEGER, DECIMAL, BOOLEAN, DATETIME, DATE, FK, STATUS = (
    "text",
    "integer",
    "decimal",
    "boolean",
    "datetime",
    "date",
    "fk",
    "status",
)

#: The three entities the change simulation and the scale split apply to.
MAIN_ENTITIES = ("order_hdr", "order_dtl", "allocation")


@dataclass(frozen=True)
class Field:
    """One model field as describe reports it (``url`` and ``*_set`` links are not fields)."""

    name: str
    kind: str
    max_length: int | None = None
    required: bool = False
    target: str | None = None  # FK target entity
    places: int = 3  # decimal places
    null_rate: float = 0.0  # share of records where the value is null
    describe_type: str | None = None  # spelling override in describe (tenants differ)


@dataclass(frozen=True)
class ChildSet:
    """A reverse link such as ``order_dtl_set`` on order_hdr."""

    name: str
    child: str
    fk: str


@dataclass(frozen=True)
class Entity:
    name: str
    fields: tuple[Field, ...]
    key_field: str = "id"  # the field whose value becomes an FK object's "key"
    sets: tuple[ChildSet, ...] = ()
    by_name: dict[str, Field] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.by_name.update({f.name: f for f in self.fields})


def _t(name: str, n: int = 30, null: float = 0.0, req: bool = False) -> Field:
    return Field(name, TEXT, max_length=n, null_rate=null, required=req)


def _fk(
    name: str, target: str, null: float = 0.0, req: bool = False, spell: str | None = None
) -> Field:
    return Field(name, FK, target=target, null_rate=null, required=req, describe_type=spell)


def _common() -> list[Field]:
    return [
        Field("id", INTEGER, required=True),
        _t("create_user", 30, req=True),
        Field("create_ts", DATETIME, required=True),
        _t("mod_user", 30, req=True),
        Field("mod_ts", DATETIME, required=True),
    ]


def _cust(prefix: str, shorts: int, longs: int) -> list[Field]:
    out: list[Field] = []
    out += [_t(f"{prefix}cust_field_{i}", 25, null=0.7) for i in range(1, 6)]
    out += [Field(f"{prefix}cust_date_{i}", DATE, null_rate=0.8) for i in range(1, 6)]
    out += [
        Field(f"{prefix}cust_decimal_{i}", DECIMAL, places=4, null_rate=0.7) for i in range(1, 6)
    ]
    out += [Field(f"{prefix}cust_number_{i}", INTEGER, null_rate=0.7) for i in range(1, 6)]
    out += [_t(f"{prefix}cust_short_text_{i}", 30, null=0.8) for i in range(1, shorts + 1)]
    out += [_t(f"{prefix}cust_long_text_{i}", 255, null=0.9) for i in range(1, longs + 1)]
    return out


def _address(prefix: str) -> list[Field]:
    return [
        _t(f"{prefix}_name", 50, null=0.05),
        _t(f"{prefix}_addr", 75, null=0.05),
        _t(f"{prefix}_addr2", 75, null=0.6),
        _t(f"{prefix}_addr3", 75, null=0.9),
        _t(f"{prefix}_city", 40, null=0.05),
        _t(f"{prefix}_state", 3, null=0.1),
        _t(f"{prefix}_zip", 10, null=0.05),
        _t(f"{prefix}_country", 2, null=0.05),
        _t(f"{prefix}_phone_nbr", 20, null=0.4),
        _t(f"{prefix}_email", 100, null=0.5),
        _t(f"{prefix}_contact", 50, null=0.5),
    ]


ORDER_HDR = Entity(
    "order_hdr",
    tuple(
        [
            *_common(),
            _fk("facility_id", "facility", req=True),
            _fk("company_id", "company", req=True),
            _t("order_nbr", 50, req=True),
            _fk("order_type_id", "order_type", req=True),
            Field("status_id", STATUS, required=True),
            Field("priority", INTEGER, null_rate=0.1),
            Field("ord_date", DATE, null_rate=0.05),
            Field("exp_date", DATE, null_rate=0.7),
            Field("req_ship_date", DATE, null_rate=0.2),
            Field("start_ship_date", DATE, null_rate=0.3),
            Field("stop_ship_date", DATE, null_rate=0.3),
            Field("sched_ship_date", DATE, null_rate=0.5),
            Field("order_shipped_ts", DATETIME, null_rate=0.6),
            _fk("ship_via_id", "ship_via", null=0.2),
            _fk("dest_facility_id", "facility", null=0.9),
            _fk("shipto_facility_id", "facility", null=0.85),
            _t("cust_nbr", 25, null=0.2),
            _t("customer_po_nbr", 50, null=0.3),
            _t("sales_order_nbr", 50, null=0.3),
            _t("ref_nbr", 50, null=0.6),
            _t("route_nbr", 30, null=0.7),
            _t("currency_code", 3, null=0.2),
            _t("sales_channel", 30, null=0.5),
            _t("vas_group_code", 25, null=0.9),
            _t("erp_source_hdr_ref", 50, null=0.4),
            _t("erp_source_system_ref", 50, null=0.4),
            _t("spl_instr", 1000, null=0.8),
            _t("lock_code", 10, null=0.95),
            *_address("cust"),
            *_address("shipto"),
            *_cust("", 12, 3),
            Field("total_orig_ord_qty", DECIMAL, places=3),
            Field("orig_sale_price", DECIMAL, places=4, null_rate=0.3),
            Field("is_back_order_flg", BOOLEAN),
            Field("is_cancelled_flg", BOOLEAN),
            Field("externally_planned_load_flg", BOOLEAN),
            Field("gift_wrap_flg", BOOLEAN),
            Field("is_cod_flg", BOOLEAN),
        ]
    ),
    key_field="order_nbr",
    sets=(ChildSet("order_dtl_set", "order_dtl", "order_id"),),
)

ORDER_DTL = Entity(
    "order_dtl",
    tuple(
        [
            *_common(),
            _fk("order_id", "order_hdr", req=True),
            Field("seq_nbr", INTEGER, required=True),
            _fk("item_id", "item", req=True),
            Field("ord_qty", DECIMAL),
            Field("orig_ord_qty", DECIMAL),
            Field("alloc_qty", DECIMAL),
            Field("status_id", STATUS, required=True),
            _fk("uom_id", "uom", null=0.1),
            _fk("ordered_uom_id", "uom", null=0.3),
            Field("ordered_uom_qty", DECIMAL, null_rate=0.3),
            _fk("batch_number_id", "batch_number", null=0.8),
            _fk("invn_attr_id", "inventory_attribute", null=0.7, spell="foreign_key"),
            Field("cost", DECIMAL, places=4, null_rate=0.2),
            Field("sale_price", DECIMAL, places=4, null_rate=0.2),
            _t("po_nbr", 50, null=0.6),
            _t("lock_code", 10, null=0.95),
            _t("erp_source_line_ref", 50, null=0.3),
            _t("erp_source_shipment_ref", 50, null=0.6),
            _t("host_ob_lpn_nbr", 50, null=0.9),
            _t("shipment_nbr", 50, null=0.7),
            _t("vas_activity_code", 25, null=0.9),
            _t("spl_instr", 1000, null=0.9),
            _t("voucher_nbr", 50, null=0.95),
            Field("voucher_amount", DECIMAL, places=2, null_rate=0.95),
            Field("voucher_exp_date", DATE, null_rate=0.95),
            Field("min_shipping_tolerance_percentage", DECIMAL, places=2, null_rate=0.8),
            Field("max_shipping_tolerance_percentage", DECIMAL, places=2, null_rate=0.8),
            Field("is_back_ordered_flg", BOOLEAN),
            Field("pre_pack_ratio", INTEGER, null_rate=0.9),
            *_cust("", 6, 1),
        ]
    ),
    sets=(ChildSet("allocation_set", "allocation", "order_dtl_id"),),
)

ALLOCATION = Entity(
    "allocation",
    tuple(
        [
            *_common(),
            _fk("order_dtl_id", "order_dtl", req=True),
            _fk("from_inventory_id", "inventory", req=True),
            _fk("to_inventory_id", "inventory", null=0.4),
            Field("status_id", STATUS, required=True),
            Field("alloc_qty", DECIMAL),
            Field("packed_qty", DECIMAL),
            _fk("type_id", "allocation_type", req=True),
            _fk("wave_id", "wave", null=0.3),
            _fk("task_id", "task", null=0.2),
            _fk("alloc_uom_id", "uom", null=0.1),
            _fk("cartonize_uom_id", "uom", null=0.6),
            _fk("ob_lpn_type_id", "lpn_type", null=0.5, spell="foreign_key"),
            _fk("mhe_system_id", "mhe_system", null=0.9, spell="foreign_key"),
            Field("task_seq_nbr", INTEGER, null_rate=0.2),
            _t("pick_user", 30, null=0.4),
            Field("picked_ts", DATETIME, null_rate=0.4),
            _t("pick_locn_str", 100, null=0.2),
            _t("final_oblpn_nbr", 30, null=0.5),
            Field("is_picking_flg", BOOLEAN),
        ]
    ),
)


def _ref(name: str, extra: list[Field], key: str = "code") -> Entity:
    base = [*_common(), _t("code", 30, req=True), _t("description", 100, null=0.2)]
    return Entity(name, tuple(base + extra), key_field=key)


REFERENCE = (
    _ref(
        "company",
        [
            _t("name", 50),
            _fk("parent_company_id", "company", null=0.8),
            Field("active_flg", BOOLEAN),
        ],
    ),
    _ref(
        "facility",
        [_t("name", 50), _t("city", 40), _t("time_zone", 40), Field("active_flg", BOOLEAN)],
    ),
    _ref(
        "item",
        [
            _fk("company_id", "company", req=True),
            _t("barcode", 50, null=0.3),
            Field("unit_cost", DECIMAL, places=4),
            Field("unit_weight", DECIMAL),
            Field("std_pack_qty", DECIMAL, null_rate=0.3),
            Field("active_flg", BOOLEAN),
        ],
    ),
    _ref(
        "location",
        [
            _fk("facility_id", "facility", req=True),
            _t("area", 10),
            _t("aisle", 10),
            _t("bay", 10),
            _t("level", 10),
            Field("max_units", DECIMAL, null_rate=0.4),
            Field("lock_flg", BOOLEAN),
        ],
    ),
    _ref(
        "inventory",
        [
            _fk("facility_id", "facility", req=True),
            _fk("item_id", "item", req=True),
            _fk("location_id", "location"),
            Field("curr_qty", DECIMAL),
            Field("orig_qty", DECIMAL),
            _t("batch_nbr", 50, null=0.7),
            Field("expiry_date", DATE, null_rate=0.7),
        ],
    ),
    _ref("order_type", [Field("ship_complete_flg", BOOLEAN)]),
    _ref("ship_via", [_t("carrier_code", 20), Field("tracking_reqd_flg", BOOLEAN)]),
    _ref("uom", [Field("conversion_qty", DECIMAL)]),
    _ref("batch_number", [_fk("item_id", "item"), Field("expiry_date", DATE, null_rate=0.3)]),
    _ref("inventory_attribute", [_t("attr_a", 30, null=0.5), _t("attr_b", 30, null=0.5)]),
    _ref("allocation_type", []),
    _ref("wave", [_fk("facility_id", "facility", req=True), Field("status_id", STATUS)]),
    _ref(
        "task",
        [
            _fk("facility_id", "facility", req=True),
            Field("status_id", STATUS),
            Field("priority", INTEGER),
        ],
    ),
    _ref("lpn_type", [Field("max_weight", DECIMAL, null_rate=0.5)]),
    _ref("mhe_system", [_fk("facility_id", "facility", req=True)]),
)

#: Base record counts of the reference entities (small and fixed, independent of --scale).
REFERENCE_COUNTS = {
    "company": 3,
    "facility": 2,
    "item": 200,
    "location": 300,
    "inventory": 500,
    "order_type": 6,
    "ship_via": 5,
    "uom": 4,
    "batch_number": 50,
    "inventory_attribute": 20,
    "allocation_type": 4,
    "wave": 40,
    "task": 200,
    "lpn_type": 5,
    "mhe_system": 3,
}

ENTITIES: dict[str, Entity] = {e.name: e for e in (ORDER_HDR, ORDER_DTL, ALLOCATION, *REFERENCE)}

#: Catalogued entities that exist but hold no rows here: describe works, a list answers 404.
EMPTY_ENTITIES = (
    "active_inventory",
    "appointment",
    "asn",
    "asn_status",
    "batch_number_status",
    "carrier",
    "company_parameter",
    "container",
    "container_status",
    "cycle_count",
    "facility_parameter",
    "iblpn",
    "ib_shipment",
    "ib_shipment_dtl",
    "inventory_history",
    "inventory_lock",
    "inventory_status",
    "item_barcode",
    "item_facility",
    "item_prepack",
    "load",
    "location_size",
    "manifest",
    "oblpn",
    "order_status",
    "parcel_manifest",
    "pick_zone",
    "purchase_order",
    "purchase_order_dtl",
    "replenishment_zone",
    "shipment",
    "stop",
    "task_status",
    "task_type",
    "user",
    "vendor",
    "wave_template",
    "work_order",
    "work_order_dtl",
    "zone",
)


def empty_entity(name: str) -> Entity:
    """A minimal schema for a catalogued entity the simulator keeps empty."""
    return _ref(name, [])


def catalogue_names() -> list[str]:
    return sorted([*ENTITIES, *EMPTY_ENTITIES])


def scale_split(scale: int) -> dict[str, int]:
    """Split ``--scale`` over the main entities: 10 % headers, 30 % details, 60 % allocations."""
    hdr = max(1, scale // 10)
    dtl = max(1, scale * 3 // 10)
    alloc = max(1, scale - hdr - dtl)
    return {"order_hdr": hdr, "order_dtl": dtl, "allocation": alloc}
