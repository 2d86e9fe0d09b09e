"""The `tap-oracle-wms` command: a fresh cached catalog is printed before singer_sdk is
imported (~0.4 s of every discovery Meltano runs); anything else goes to the SDK's CLI.

Only stdlib imports at module level: this runs on the cache-hit path.
"""

from __future__ import annotations

import os
import sys

from tap_oracle_wms import discovery_cache


def main() -> None:
    """Serve `--config FILE --discover` from the cache when it has a fresh catalog."""
    cache = discovery_cache.for_command_line(sys.argv[1:], os.environ)
    if cache is not None:
        text = cache.load()
        if text is not None:
            sys.stdout.write(text + "\n")  # byte for byte what the SDK prints
            sys.stdout.flush()
            discovery_cache.report_hit(cache)
            return
    from tap_oracle_wms.tap import TapOracleWMS  # the expensive import, only on a miss

    TapOracleWMS.discovery_cache = cache  # a successful discovery fills it
    TapOracleWMS.cli()


if __name__ == "__main__":
    main()
