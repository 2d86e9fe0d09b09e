"""The SDK's standard target tests, on a real SQLite file."""

from __future__ import annotations

import tempfile
from pathlib import Path

from singer_sdk.testing import get_target_test_class

from target_oracle.target import TargetOracle

_DB = Path(tempfile.mkdtemp(prefix="target_oracle_std_")) / "std.db"

# Some standard streams carry records that fail their own schema (e.g. a missing
# required property): those are quarantined, so allow rejects here.
TestTargetOracleStandard = get_target_test_class(
    TargetOracle,
    config={"sqlalchemy_url": f"sqlite:///{_DB}", "max_rejects": 1000, "load_method": "upsert"},
)
