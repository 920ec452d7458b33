"""
Responses to the counting searches (the total and facet counts of a page, a
summary), kept in the process under the catalog's content version.

Why: a page's counts do not depend on its sort or cursor, so every page a
portal shows without filters asks for the same counts, and at a million
documents counting them (one `terms` aggregation reading ~35 terms of every
document, 45 ms of node CPU in one segment) is most of such a page's cost,
and a summary takes ~500 ms of node CPU.
DuckDB keeps the unfiltered counts in a table it updates in the transaction
of each write. OpenSearch has no transaction across documents: counts kept in
a document beside the aggregates would stay wrong for good after a writer
died between its two writes. A cache needs no second write, only a version
that changes with every change: `SearchBackend.content_version`, which
manifests are cached under already.

Why it is never stale: an entry is keyed by the index (an alias: the catalog,
the entity type), the request body (filters, facets, aggregations) and the
content version read *before* the search. Writers stamp a new version after
their writes are visible to searches (`refresh=true` or `wait_for`, the end of
`bulk_load`, the switch to a new generation). A writer whose writes are not
yet visible (inside `bulk_load`, or with `refresh=false`) stamps the version
as not cacheable (`cacheable: false` in the stamp document), and readers then
bypass the cache until a stamp says the data are visible again. So an entry
holds the counts of data at least as new as its version's. Between a write
becoming visible and its stamp (the time of one request) a reader may be
answered the counts from before the write, as if it had read a moment
earlier; its page's hits, searched anew, may already include the write, as
two searches of an uncached multi-search may straddle a refresh too.

Cost of a miss: one real-time get of the stamp (well under a millisecond of
node CPU) besides the search. `request_cache=False` (benchmarks) turns this
cache off together with OpenSearch's shard request cache.
"""
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

import orjson

# Entries per backend object. A page with every facet is ~190 kB of JSON,
# about 1 MB once parsed.
CACHE_SIZE = 32

Key = tuple[str, str, bytes]


def cache_key(index: str, version: str, body: Mapping[str, Any]) -> Key:
    # Bodies are built by code, never from a client's JSON, so equal requests
    # give equal bodies; sorted keys make that hold whatever the dicts' order
    return index, version, orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


class ResultCache:
    """A small thread-safe LRU of parsed responses, which callers must not change."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._entries: OrderedDict[Hashable, Mapping[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key | None) -> Mapping[str, Any] | None:
        if key is None:
            return None
        with self._lock:
            response = self._entries.get(key)
            if response is not None:
                self._entries.move_to_end(key)
            return response

    def put(self, key: Key | None, response: Mapping[str, Any]) -> None:
        if key is None or not self.size:
            return
        with self._lock:
            self._entries[key] = response
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
