"""The sequential reader: one request at a time, following `next_page`, as a baseline.

Against a simulator charging production latency this is what a one-request-at-a-time client
can reach (~1 / (per_request + page_size * per_record) pages/s); the full sync's records/s is
reported as a multiple of it. It parses every page (full records, as the tap
reads them) and keeps only the ids: the WMS side of the warehouse's id-for-id check.

Run in its own process (`python -m benchmarks.sequential --base-url ... --ids-out ids.json`) so
its wall time and peak RSS are measured like every other step's; prints `{"entity": rows}`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson
import requests

from benchmarks.floor import API, pages
from benchmarks.paths import ENTITIES, PASSWORD, USERNAME


def entity_ids(session: requests.Session, base_url: str, entity: str, page_size: int) -> list[int]:
    """Every id of `entity`, in id order, one request at a time (the floor's page loop)."""
    url = f"{base_url.rstrip('/')}{API}/{entity}/"
    return [int(rec["id"]) for page in pages(session, url, page_size) for rec in page]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sequential", description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--ids-out", type=Path, required=True,
                        help="JSON file of {entity: [ids]} (the WMS side of the id check)")
    args = parser.parse_args(argv)
    with requests.Session() as session:
        session.auth = (USERNAME, PASSWORD)
        ids = {e: entity_ids(session, args.base_url, e, args.page_size) for e in ENTITIES}
    args.ids_out.write_bytes(orjson.dumps(ids))
    sys.stdout.write(orjson.dumps({e: len(v) for e, v in ids.items()}).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
