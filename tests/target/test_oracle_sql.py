"""Every statement kind the target sends to Oracle: golden text + sqlglot parse.

Each statement is compiled through SQLAlchemy's Oracle dialect (as the engine would send
it) and parsed with sqlglot ``read="oracle"``.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import sqlglot
from sqlalchemy.dialects import oracle

from target_oracle import audit
from target_oracle import types as T
from target_oracle.connector import MAX_STRING_SIZE_SQL
from target_oracle.dialects import Column, OracleDialect, describe_sql, index_exists_sql
from target_oracle.quarantine import reject_columns

D = OracleDialect()
COLS = [
    Column("ID", "id", T.ColumnType(T.INTEGER)),
    Column("CODE", "code", T.ColumnType(T.STRING, 20)),
    Column("QTY", "qty", T.ColumnType(T.NUMBER)),
    Column("MOD_TS", "mod_ts", T.ColumnType(T.TIMESTAMP)),
    Column("SHIP_DATE", "ship_date", T.ColumnType(T.DATE)),
    Column("DATA", "data", T.ColumnType(T.JSON)),
    Column("_SDC_DELETED_AT", None, T.ColumnType(T.TIMESTAMP)),
]
SNAP_COLS = [*COLS, Column("_SDC_SNAPSHOT_VERSION", None, T.ColumnType(T.INTEGER)),
             Column("_SDC_SNAPSHOT_SEQ", None, T.ColumnType(T.INTEGER))]
TS = "'YYYY-MM-DD\"T\"HH24:MI:SS.FF6TZH:TZM'"
DEDUP = D.dedup_snapshot("WMS_T_SNAP", COLS, "MOD_TS", "_SDC_SNAPSHOT_VERSION",
                         "_SDC_SNAPSHOT_SEQ", ["ID"])

GOLDEN = {
    "create_table": (
        D.create_table("WMS_T", COLS, ["ID"], "WMS_T_PK"),
        'CREATE TABLE WMS_T (ID NUMBER(38) NOT NULL, CODE VARCHAR2(20 CHAR), QTY NUMBER, '
        'MOD_TS TIMESTAMP(6) WITH TIME ZONE, SHIP_DATE DATE, DATA CLOB, '
        '"_SDC_DELETED_AT" TIMESTAMP(6) WITH TIME ZONE, '
        'CONSTRAINT WMS_T_PK PRIMARY KEY (ID))'),
    "create_staging": (
        D.create_staging("WMS_T_STG", COLS[:2]),
        "CREATE GLOBAL TEMPORARY TABLE WMS_T_STG (ID NUMBER(38), CODE VARCHAR2(20 CHAR)) "
        "ON COMMIT DELETE ROWS"),
    "add_columns": (
        D.add_columns("WMS_T", COLS[1:3])[0],
        "ALTER TABLE WMS_T ADD (CODE VARCHAR2(20 CHAR), QTY NUMBER)"),
    "insert": (
        D.insert("WMS_T_STG", COLS),
        "INSERT INTO WMS_T_STG (ID, CODE, QTY, MOD_TS, SHIP_DATE, DATA, \"_SDC_DELETED_AT\") "
        f"VALUES (:c0, :c1, :c2, TO_TIMESTAMP_TZ(:c3, {TS}), TO_DATE(:c4, 'YYYY-MM-DD'), "
        f":c5, TO_TIMESTAMP_TZ(:c6, {TS}))"),
    "merge": (
        D.merge("WMS_T", "WMS_T_STG", COLS[:4], ["ID"], "MOD_TS"),
        "MERGE INTO WMS_T t USING WMS_T_STG s ON (t.ID = s.ID) WHEN MATCHED THEN UPDATE SET "
        "t.CODE = s.CODE, t.QTY = s.QTY, t.MOD_TS = s.MOD_TS "
        "WHERE (t.MOD_TS IS NULL OR s.MOD_TS >= t.MOD_TS) WHEN NOT MATCHED THEN "
        "INSERT (ID, CODE, QTY, MOD_TS) VALUES (s.ID, s.CODE, s.QTY, s.MOD_TS)"),
    "soft_delete": (
        D.soft_delete("WMS_T", "WMS_T_SNAP", ["ID"], "MOD_TS", "_SDC_DELETED_AT",
                      "_SDC_SNAPSHOT_VERSION", hard=False),
        f'UPDATE WMS_T t SET "_SDC_DELETED_AT" = TO_TIMESTAMP_TZ(:deleted_at, {TS}) '
        'WHERE t."_SDC_DELETED_AT" IS NULL AND NOT EXISTS (SELECT 1 FROM WMS_T_SNAP s '
        'WHERE s.ID = t.ID AND s."_SDC_SNAPSHOT_VERSION" = :snapshot_version) '
        f"AND (t.MOD_TS IS NULL OR t.MOD_TS < TO_TIMESTAMP_TZ(:snapshot_start, {TS}))"),
    "soft_delete_sparing_rejects": (
        D.soft_delete("WMS_T", "WMS_T_SNAP", ["ID"], "MOD_TS", "_SDC_DELETED_AT",
                      "_SDC_SNAPSHOT_VERSION", hard=False,
                      rejects=("WMS_T_REJECTS", "TABLE_VERSION", ["KEY_1"])),
        f'UPDATE WMS_T t SET "_SDC_DELETED_AT" = TO_TIMESTAMP_TZ(:deleted_at, {TS}) '
        'WHERE t."_SDC_DELETED_AT" IS NULL AND NOT EXISTS (SELECT 1 FROM WMS_T_SNAP s '
        'WHERE s.ID = t.ID AND s."_SDC_SNAPSHOT_VERSION" = :snapshot_version) '
        "AND NOT EXISTS (SELECT 1 FROM WMS_T_REJECTS r WHERE r.TABLE_VERSION = "
        ":snapshot_version AND r.KEY_1 = t.ID) "
        f"AND (t.MOD_TS IS NULL OR t.MOD_TS < TO_TIMESTAMP_TZ(:snapshot_start, {TS}))"),
}

OTHERS = {
    "widen_modify": D.widen_column("WMS_T", COLS[1], T.ColumnType(T.STRING, 200))[0],
    **{f"widen_clob_{i}": s for i, s in
       enumerate(D.widen_column("WMS_T", COLS[1], T.ColumnType(T.CLOB)))},
    "insert_snapshot": D.insert("WMS_T_SNAP", SNAP_COLS),
    "hard_delete": D.soft_delete("WMS_T", "WMS_T_SNAP", ["ID"], "MOD_TS", "_SDC_DELETED_AT",
                                 "_SDC_SNAPSHOT_VERSION", hard=True),
    "publish_merge": D.merge("WMS_T", f"({DEDUP})", COLS, ["ID"], "MOD_TS",
                             undelete_col="_SDC_DELETED_AT"),
    "publish_counts": "SELECT " + D.count_changes(f"({DEDUP})", "WMS_T", ["ID"], "MOD_TS"),
    "audit_batch": audit.insert_counted_sql(
        D, "WMS_LOAD_AUDIT", D.count_changes("WMS_T_STG", "WMS_T", ["ID"], "MOD_TS")),
    "audit_row": audit.insert_row_sql(D, "WMS_LOAD_AUDIT"),
    "audit_table": D.create_table("WMS_LOAD_AUDIT", audit.audit_columns(D), [], "X"),
    "rejects_table": D.create_table("WMS_T_REJECTS", reject_columns(D, COLS[:2]), [], "X"),
    "rejects_insert": D.insert("WMS_T_REJECTS", reject_columns(D, COLS[:2])),
    "snapshot_discard": 'DELETE FROM WMS_T_SNAP WHERE "_SDC_SNAPSHOT_VERSION" <> :snapshot_version',
    "snapshot_clear": 'DELETE FROM WMS_T_SNAP WHERE "_SDC_SNAPSHOT_VERSION" = :snapshot_version',
    "overwrite_delete": "DELETE FROM WMS_T",
    "drop_staging": "DROP TABLE WMS_T_STG",
    "create_index": 'CREATE INDEX WMS_T_SNAP_IX ON WMS_T_SNAP (ID, "_SDC_SNAPSHOT_VERSION")',
    "describe": describe_sql(D),
    "index_exists": index_exists_sql(D),
    "max_string_size": MAX_STRING_SIZE_SQL,
    "clob_resume_rename": D.resume_clob_moves(
        "WMS_T", {"CODE__CLOB": T.ColumnType(T.CLOB)}, COLS[1:2])[0][0],
}


def compiled(sql: str) -> str:
    return str(sa.text(sql).compile(dialect=oracle.dialect()))


@pytest.mark.parametrize("kind", sorted(GOLDEN))
def test_golden(kind):
    sql, expected = GOLDEN[kind]
    assert compiled(sql) == expected


@pytest.mark.parametrize("kind", sorted([*GOLDEN, *OTHERS]))
def test_parses_as_oracle(kind):
    sql = GOLDEN[kind][0] if kind in GOLDEN else OTHERS[kind]
    tree = sqlglot.parse_one(compiled(sql), read="oracle",
                             error_level=sqlglot.ErrorLevel.RAISE)
    # MODIFY and SET UNUSED are outside sqlglot's Oracle grammar: kept verbatim as Commands.
    assert tree is not None
    if kind not in {"widen_modify", "widen_clob_2"}:  # MODIFY, SET UNUSED: Commands
        assert not isinstance(tree, sqlglot.exp.Command), kind


def test_golden_audit_and_rejects_columns():
    ddl = compiled(OTHERS["audit_table"])
    assert ddl.startswith(
        "CREATE TABLE WMS_LOAD_AUDIT (RUN_ID VARCHAR2(64 CHAR), PIPELINE VARCHAR2(64 CHAR), "
        "STREAM VARCHAR2(128 CHAR), TABLE_NAME VARCHAR2(128 CHAR), "
        "LOAD_METHOD VARCHAR2(16 CHAR), EVENT VARCHAR2(16 CHAR), TABLE_VERSION NUMBER(38), "
        "INSERTED NUMBER(38), UPDATED NUMBER(38), UNCHANGED NUMBER(38), DELETED NUMBER(38), "
        "REJECTED NUMBER(38), STARTED_AT TIMESTAMP(6) WITH TIME ZONE, "
        "FINISHED_AT TIMESTAMP(6) WITH TIME ZONE")
    assert "RECORD_JSON CLOB" in compiled(OTHERS["rejects_table"])


def test_rejects_table_keeps_the_key_typed_like_the_live_key():
    ddl = compiled(OTHERS["rejects_table"])
    assert ddl.endswith("TABLE_VERSION NUMBER(38), KEY_1 NUMBER(38), KEY_2 VARCHAR2(20 CHAR))")
