"""Which `next_page` links the readers may follow: only those on `base_url`'s origin.

A link naming another origin (a mis-set proxy, a rewritten link, a hostile answer) is never
requested, since the run's session carries the tenant's credentials: the reader drops it and
rebuilds its query from its own keyset position on `base_url`, as it does after a page-size
change. The drop is logged once per foreign origin and run, not once per page. The session
itself refuses foreign origins too (`wms_oauth.origins.OriginBoundSession`), so no other
path can send there.
"""

from __future__ import annotations

import logging
import threading

from wms_oauth.origins import describe_origin, origin_of

logger = logging.getLogger("tap-oracle-wms")


class LinkCheck:
    """Shared by every reader of a run (thread-safe: readers run on worker threads)."""

    def __init__(self, base_url: str) -> None:
        self.home = origin_of(base_url)
        self.dropped: dict[str, int] = {}  # foreign origin -> links dropped
        self._lock = threading.Lock()

    def follows(self, link: str, label: str) -> bool:
        """True when `link` may be requested; otherwise warn (once per origin) and count."""
        origin = origin_of(link)
        if origin == self.home:
            return True
        foreign = describe_origin(origin) if origin[1] else repr(link[:80])
        with self._lock:
            first = foreign not in self.dropped
            self.dropped[foreign] = self.dropped.get(foreign, 0) + 1
        if first:
            logger.warning(
                "%s: next_page names another origin, %s, not base_url's %s; it is not "
                "requested (credentials stay on base_url) and reading goes on from the last "
                "id/position read. Check the proxy or gateway in front of WMS.",
                label, foreign, describe_origin(self.home),
            )
        return False
