"""
Summaries kept in the process under the catalog's content version.

Why: a portal asks for the same summary (without filters, or with the
filters a user clicked) on every page it shows, and at a million documents a
summary takes 30 to 60 ms of CPU without filters and 110 to 180 with them
(issue 16), while the answer changes only when the catalog does.

Why it is never stale: every write of the catalog's content stamps a new
content version in its own transaction (`DuckDBBackend._touch`), and a
summary reads the version in the snapshot it reads the rows in. So an entry
under a version holds the summary of exactly the data of that version. A
version is a random id, never reused, so an entry of a write that was rolled
back is never asked for. A generation this object builds changes its
tables without a new version until the switch: its summaries are not kept.
"""
import threading
from collections import OrderedDict
from collections.abc import Hashable

from azul.core.search import SummaryRequest, SummaryResult

# Entries per backend object: a summary of ~2,000 buckets is about 1 MB in
# Python objects
CACHE_SIZE = 32

Key = tuple[str, str, SummaryRequest]


class SummaryCache:
    """A small thread-safe LRU of summaries, which callers must not change."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._entries: OrderedDict[Hashable, SummaryResult] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key) -> SummaryResult | None:
        with self._lock:
            result = self._entries.get(key)
            if result is not None:
                self._entries.move_to_end(key)
            return result

    def put(self, key: Key, result: SummaryResult) -> None:
        if not self.size:
            return
        with self._lock:
            self._entries[key] = result
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
