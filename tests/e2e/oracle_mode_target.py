"""`target-oracle` as installed, run with the Oracle emulator registered (`tests.oracle_mode`).

The executable's own CLI, in a process of its own, whose `oracle+oracledb://?plugin=oracle_mode`
URL reaches the emulator instead of a server. A python-oracledb contract violation the target
caught and went on from still fails the run (exit 3), as the `wh` fixture does in-process.
"""

from __future__ import annotations

import os
import sys

from target_oracle.target import TargetOracle
from tests import oracle_mode


def main() -> None:
    try:
        TargetOracle.cli()
    finally:
        violations = [v for srv in oracle_mode._SERVERS.values() for v in srv.violations]
        if violations:
            sys.stderr.write("python-oracledb contract violations:\n" + "\n".join(violations))
            sys.stderr.flush()
            os._exit(3)


if __name__ == "__main__":
    main()
