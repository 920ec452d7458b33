"""
The term bitmaps of the DuckDB backend (azul.backends.duckdb.bitmaps) on a
bench file loaded by bench_backends (`--reuse`): the build's wall and CPU
time and the memory it holds, then per filtered request of bench_backends'
portal mix the CPU of the bitmap path against the SQL path (a same backend
object with its bitmaps off for the call), calls alternating, and whether the two
answers are equal. Prints JSON lines:

  {"measure": "build", "seconds": .., "cpu_seconds": .., "bitmap_bytes": ..,
   "value_bytes": .., "rss_delta_mb": .., "load_avg": ..}
  {"measure": "page_filtered", "bitmaps": {"p50_ms": .., "p95_ms": .., "cpu_p50_ms": ..},
   "sql": {..}, "equal": true, "load_avg": [..]}

`bitmap_bytes` counts everything held, `value_bytes` the per-document values
of filtered summaries among it. With `--summaries N`, first the filtered
summary of N filters (single values and pairs of values of the bench's
facets, negations among them) from both paths, compared:

  {"measure": "summaries_equal", "filters": N, "equal": N, "answered": ..}

(`answered`: how many were answered by the bitmaps alone.)

Both objects are uncached (their caches of counts and summaries off), as
bench_side_by_side's DuckDB.

  python scripts/bench_bitmaps.py --duckdb-path FILE [--deployment bench]
      [--repeat 15] [--measures a,b] [--threads N] [--summaries N]
"""
import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from azul.backends.duckdb import DuckDBBackend  # noqa: E402
from azul.core.filters import Filters, Is  # noqa: E402
from azul.core.search import SearchRequest, Sort  # noqa: E402
from azul_dev import benchdata  # noqa: E402
from bench_backends import CATALOG, PAGE, percentile, plain, portal_mix  # noqa: E402

FILTERED = ('page_filtered', 'page_filtered_deep', 'summary_filtered')


def rss_mb() -> float:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    raise AssertionError('no VmRSS')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--duckdb-path', type=Path, required=True)
    parser.add_argument('--deployment', default='bench')
    parser.add_argument('--repeat', type=int, default=15)
    parser.add_argument('--measures', help='comma-separated measures (default: the filtered)')
    parser.add_argument('--threads', type=int, help="DuckDB's threads (default: its own)")
    parser.add_argument('--summaries', type=int, default=0,
                        help='compare the filtered summaries of this many filters first')
    args = parser.parse_args()
    registry = benchdata.registry()
    backend = DuckDBBackend(path=args.duckdb_path, prefix='azul', deployment=args.deployment,
                            result_cache=False)
    store = backend._bitmaps
    limit = store.limit
    if args.threads:
        backend._cursor().execute(f'SET threads = {args.threads}')
    filters = benchdata.filtered(registry)
    request = SearchRequest(entity_type=benchdata.ENTITY_TYPE, filters=filters,
                            sort=Sort(registry['fileName']), size=PAGE, facets=registry.facets)
    before = rss_mb()
    start, start_cpu = time.perf_counter(), time.process_time()
    backend.search(CATALOG, request)
    store.wait()
    print(json.dumps({'measure': 'build', 'seconds': round(time.perf_counter() - start, 2),
                      'cpu_seconds': round(time.process_time() - start_cpu, 2),
                      'bitmap_bytes': store.nbytes,
                      'value_bytes': sum(b.values.nbytes for b in store._bitmaps.values()
                                         if b.values is not None),
                      'rss_delta_mb': round(rss_mb() - before, 1),
                      'load_avg': round(os.getloadavg()[0], 1)}), flush=True)
    mix = portal_mix(backend, registry)

    def call(kind: str, measure: str):
        # The SQL path: the same object with its bitmaps off for the call
        store.limit = limit if kind == 'bitmaps' else 0
        try:
            return mix[measure]()
        finally:
            store.limit = limit

    if args.summaries:
        compare_summaries(backend, registry, args.summaries)
    kinds = ('bitmaps', 'sql')
    only = args.measures.split(',') if args.measures else FILTERED
    for measure in only:
        answers = {}
        for kind in kinds:
            # Warm-up, the deep pages' cursors, and the order of their sort
            call(kind, measure)
            store.wait()
            answers[kind] = plain(call(kind, measure))
        load = [os.getloadavg()[0]]
        times = {kind: [] for kind in kinds}
        cpu = {kind: [] for kind in kinds}
        for _ in range(args.repeat):
            for kind in kinds:
                start, start_cpu = time.perf_counter(), time.process_time()
                call(kind, measure)
                times[kind].append((time.perf_counter() - start) * 1000)
                cpu[kind].append((time.process_time() - start_cpu) * 1000)
        load.append(os.getloadavg()[0])
        print(json.dumps({'measure': measure,
                          **{kind: {'p50_ms': round(statistics.median(times[kind]), 1),
                                    'p95_ms': round(percentile(times[kind], 95), 1),
                                    'cpu_p50_ms': round(statistics.median(cpu[kind]), 1),
                                    'cpu_min_ms': round(min(cpu[kind]), 1)}
                             for kind in kinds},
                          'equal': answers['bitmaps'] == answers['sql'],
                          'load_avg': [round(v, 1) for v in load]}), flush=True)
    backend.close()


def summary_filters(registry, count: int) -> list[Filters]:
    """Filters of the bench's facets: single values, pairs of fields, negations."""
    rng = random.Random(16)
    names = [n for n in benchdata.KEYWORD_FACETS if benchdata.KEYWORD_FACETS[n][0]]
    found = []
    while len(found) < count:
        terms = []
        for name in rng.sample(names, rng.choice([1, 1, 2, 3])):
            size = benchdata.KEYWORD_FACETS[name][0]
            values = tuple(f'{name} {benchdata._skewed(rng, size)}'
                           for _ in range(rng.choice([1, 1, 2])))
            terms.append(Is(registry[name], values, negated=rng.random() < 0.2))
        found.append(Filters(tuple(terms)))
    return found


def compare_summaries(backend: DuckDBBackend, registry, count: int) -> None:
    store = backend._bitmaps
    limit = store.limit
    table = backend._table(CATALOG, benchdata.ENTITY_TYPE)
    equal = answered = 0
    for filters in summary_filters(registry, count):
        request = benchdata.summary_request(registry, filters)
        with backend._snapshot():
            known = backend._bitmap_summary(CATALOG, table, request)
        answered += len(known) == len(request.aggregations)
        fast = backend.summary(CATALOG, request)
        store.limit = 0
        try:
            equal += fast == backend.summary(CATALOG, request)
        finally:
            store.limit = limit
    print(json.dumps({'measure': 'summaries_equal', 'filters': count, 'equal': equal,
                      'answered': answered}), flush=True)


if __name__ == '__main__':
    main()
