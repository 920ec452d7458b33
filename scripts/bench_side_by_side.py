"""
bench_backends' portal mix on DuckDB and OpenSearch side by side: each
repetition of a measure calls DuckDB, then OpenSearch, so that both see the
same load on a shared machine (two runs back to back may not). Needs both
loaded by bench_backends (`--reuse`, the same `--docs`). Prints one JSON line
per measure:

  {"measure": "page_sorted", "docs": 1000000,
   "duckdb": {"p50_ms": .., "p95_ms": .., "cpu_p50_ms": .., "first_ms": ..},
   "opensearch": {"p50_ms": .., "p95_ms": .., "node_cpu_ms": .., "client_cpu_p50_ms": ..,
                  "first_ms": ..},
   "p95_ratio": .., "load_avg": [..]}

`first_ms` is a measure's first call, before the repetitions: it finds the
deep pages' cursors, and on DuckDB a filtered one starts the build of the
content version's bitmaps, which the repetitions then wait for
(`bench_backends.settle`), so that they measure the steady state.
`cpu_p50_ms` is this process's CPU time for a DuckDB call (all its threads);
`node_cpu_ms` the OpenSearch node's CPU time per call (averaged over the
repetitions, while the node does nothing else: DuckDB runs in this
process). `p95_ratio` is OpenSearch's p95 over DuckDB's.
OpenSearch is uncached unless `--cached` (its shard request cache and the
backend's cache of counts; see azul.backends.opensearch.cache), and so is
DuckDB (its cache of summaries, see azul.backends.duckdb.cache).

  python scripts/bench_side_by_side.py --docs N --duckdb-path FILE
      [--duckdb-deployment bench] [--opensearch-deployment bench] [--repeat 20]
      [--measures a,b] [--cached]
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from azul import collector  # noqa: E402
from azul.backends.duckdb import DuckDBBackend  # noqa: E402
from azul.backends.opensearch import OpenSearchBackend  # noqa: E402
from azul_dev import benchdata  # noqa: E402
from bench_backends import CATALOG, percentile, portal_mix, settle, timed  # noqa: E402
from bench_opensearch_cpu import _fresh_node_cpu  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--docs', type=int, required=True)
    parser.add_argument('--duckdb-path', type=Path, required=True)
    parser.add_argument('--duckdb-deployment', default='bench')
    parser.add_argument('--opensearch-deployment', default='bench')
    parser.add_argument('--repeat', type=int, default=20)
    parser.add_argument('--measures', help='comma-separated measures (default: all)')
    parser.add_argument('--cached', action='store_true',
                        help="OpenSearch with its request cache and the backend's cache of "
                             "counts, DuckDB with its cache of summaries")
    args = parser.parse_args()
    duck = DuckDBBackend(path=args.duckdb_path, prefix='azul',
                         deployment=args.duckdb_deployment, result_cache=args.cached)
    search = OpenSearchBackend(endpoint=os.environ['AZUL_ES_ENDPOINT'], prefix='azul',
                               deployment=args.opensearch_deployment,
                               request_cache=None if args.cached else False)
    for backend in (duck, search):
        count = backend.count(CATALOG, benchdata.ENTITY_TYPE)
        if count != args.docs:
            raise SystemExit(f'{type(backend).__name__}: {count} documents, not {args.docs}')
    registry = benchdata.registry()
    duck_mix, search_mix = portal_mix(duck, registry), portal_mix(search, registry)
    # As `azul serve` does once started (see bench_backends)
    collector.freeze_held()
    only = args.measures.split(',') if args.measures else None
    for measure in duck_mix:
        if only is not None and measure not in only:
            continue
        # Warm-up, timed apart: the cursors of deep pages, caches, DuckDB's bitmaps
        _, duck_first = timed(duck_mix[measure])
        settle(duck)
        _, search_first = timed(search_mix[measure])
        load = [os.getloadavg()[0]]
        duck_times, duck_cpu, search_times, search_cpu = [], [], [], []
        node_cpu = _fresh_node_cpu(search)
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            duck_mix[measure]()
            duck_times.append((time.perf_counter() - start) * 1000)
            duck_cpu.append((time.process_time() - start_cpu) * 1000)
            start, start_cpu = time.perf_counter(), time.process_time()
            search_mix[measure]()
            search_times.append((time.perf_counter() - start) * 1000)
            search_cpu.append((time.process_time() - start_cpu) * 1000)
        node_cpu = _fresh_node_cpu(search) - node_cpu
        load.append(os.getloadavg()[0])
        duck_p95, search_p95 = percentile(duck_times, 95), percentile(search_times, 95)
        print(json.dumps({
            'measure': measure, 'docs': args.docs, 'cached': args.cached,
            'duckdb': {'p50_ms': round(statistics.median(duck_times), 1),
                       'p95_ms': round(duck_p95, 1),
                       'cpu_p50_ms': round(statistics.median(duck_cpu), 1),
                       'first_ms': round(duck_first, 1)},
            'opensearch': {'p50_ms': round(statistics.median(search_times), 1),
                           'p95_ms': round(search_p95, 1),
                           'node_cpu_ms': round(node_cpu * 1000 / args.repeat, 1),
                           'client_cpu_p50_ms': round(statistics.median(search_cpu), 1),
                           'first_ms': round(search_first, 1)},
            'p95_ratio': round(search_p95 / duck_p95, 2),
            'load_avg': [round(v, 1) for v in load],
        }), flush=True)
    duck.close()
    search.close()


if __name__ == '__main__':
    main()
