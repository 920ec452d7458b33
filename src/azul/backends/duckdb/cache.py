"""
Counting answers kept in the process under the catalog's content version:
summaries, and the total and facets of filtered searches.

Why: a portal asks for the same summary (without filters, or with the
filters a user clicked) on every page it shows, and at a million documents a
summary takes 30 to 60 ms of CPU without filters and 110 to 180 with them
(issue 16), while the answer changes only when the catalog does. Likewise a
user who filters, then pages, sorts or goes back asks for the same facets
on every page: counting them under filters takes ~150 ms of CPU at a million
documents, where the page alone takes a few. Unfiltered facets are read from
the counts table, which is cheap: they are not kept.

Why it is never stale: every write of the catalog's content stamps a new
content version in its own transaction (`DuckDBBackend._touch`), and a
reader reads the version in the snapshot it reads the rows in. So an entry
under a version holds the answer of exactly the data of that version. A
version is a random id, never reused, so an entry of a write that was rolled
back is never asked for. A generation this object builds changes its
tables without a new version until the switch: its answers are not kept.
"""
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

# Entries per cache of a backend object: a summary of ~2,000 buckets, or the
# facets of a page, are about 1 MB in Python objects
CACHE_SIZE = 32


class ResultCache:
    """A small thread-safe LRU of answers, which callers must not change."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            result = self._entries.get(key)
            if result is not None:
                self._entries.move_to_end(key)
            return result

    def put(self, key: Hashable, result: Any) -> None:
        if not self.size:
            return
        with self._lock:
            self._entries[key] = result
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
