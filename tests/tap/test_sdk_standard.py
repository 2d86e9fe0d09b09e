"""The Singer SDK's standard tap tests, against a small in-process simulator.

The SDK builds its test class (and discovers streams) at import time, so the
simulator is started at import and stopped when the module's tests are done.
"""

from __future__ import annotations

import typing as t

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_oracle_wms.tap import TapOracleWMS

sim_testing = pytest.importorskip("wms_simulator.testing")

_SIM_CONTEXT = sim_testing.running_simulator(scale=300, seed=5, environment="dev")
_SIM = _SIM_CONTEXT.__enter__()

CONFIG: dict[str, t.Any] = {
    "base_url": _SIM.base_url,
    "username": _SIM.username,
    "password": _SIM.password,
    "entities": ["allocation", "order_hdr", "order_dtl"],
    "page_size": 100,
    "retry_backoff_seconds": 0.01,
}

_BaseTests = get_tap_test_class(
    tap_class=TapOracleWMS,
    config=CONFIG,
    suite_config=SuiteConfig(max_records_limit=150),
)


class TestTapOracleWMSStandard(_BaseTests):  # type: ignore[misc,valid-type]
    """SDK standard tap, stream and attribute tests."""


@pytest.fixture(scope="module", autouse=True)
def _stop_simulator() -> t.Iterator[None]:
    yield
    _SIM_CONTEXT.__exit__(None, None, None)
