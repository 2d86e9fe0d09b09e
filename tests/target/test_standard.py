"""The SDK's standard target tests, on a real SQLite file."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from singer_sdk.testing import get_target_test_class

from target_oracle.target import TargetOracle

_DB = Path(tempfile.mkdtemp(prefix="target_oracle_std_")) / "std.db"

# Some standard streams carry records that fail their own schema (e.g. a missing
# required property): those are quarantined, so allow rejects here.
_Standard = get_target_test_class(
    TargetOracle,
    config={"sqlalchemy_url": f"sqlite:///{_DB}", "max_rejects": 1000, "load_method": "upsert"},
)


class TestTargetOracleStandard(_Standard):
    def test_target_record_missing_key_property(self, config, resource, runner) -> None:
        """Deliberately different from the SDK suite, which expects the whole load to stop
        with MissingKeyPropertiesError at the first record without its key: here that record
        is quarantined with its reason and the rest loads (the run still fails at the end when
        rejects exceed max_rejects). Asserted in tests/e2e/test_rejects_and_hostile_input.py
        (test_a_record_without_its_id_key_is_rejected_not_fatal)."""
        pytest.skip("a record without its key is quarantined, not fatal (see docstring)")
