"""
What `write_aggregates` costs on OpenSearch, outside `bulk_load`: a batch of
aggregates of an index loaded by bench_backends (`--reuse`) rewritten at
their current versions, `--repeat` times. Prints one JSON line:

  {"mode": "same", "batch": 10, "p50_ms": .., "p95_ms": .., "cpu_p50_ms": ..,
   "load_avg": [..]}

`--mode same` writes every aggregate as it is (a delta of zero); `swap`
writes each with the contents of another aggregate, not of the batch, and
back on the next repetition (so an even `--repeat` leaves the index as it was), which
changes ~30 facet terms of each. Runs with any checkout's code (run it with
that checkout's interpreter, from its directory, to compare before and
after); `--kept off` turns the kept counts off where the code has them. `--read`
also times an unfiltered page with every facet after each write (uncached),
the first read of what the write changed: `read_p50_ms`, `read_cpu_p50_ms`.

  python scripts/bench_kept_writes.py --deployment D [--batch 10] [--repeat 20]
      [--mode same|swap] [--kept on|off] [--read]
"""
import argparse
import inspect
import json
import os
import statistics
import sys
import time
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from azul.backends.base import AggregateWrite  # noqa: E402
from azul.backends.opensearch import OpenSearchBackend  # noqa: E402
from azul.core.documents import IndexedAggregate  # noqa: E402
from azul.core.filters import Filters  # noqa: E402
from azul.core.search import SearchRequest, Sort  # noqa: E402
from azul_dev import benchdata  # noqa: E402
from bench_backends import CATALOG, percentile  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--deployment', required=True)
    parser.add_argument('--batch', type=int, default=10)
    parser.add_argument('--repeat', type=int, default=20)
    parser.add_argument('--mode', choices=('same', 'swap'), default='same')
    parser.add_argument('--kept', choices=('on', 'off'), default='on')
    parser.add_argument('--read', action='store_true')
    args = parser.parse_args()
    options = {}
    if 'kept_counts' in inspect.signature(OpenSearchBackend).parameters:
        options['kept_counts'] = args.kept == 'on'
    backend = OpenSearchBackend(os.environ['AZUL_ES_ENDPOINT'], prefix='azul',
                                deployment=args.deployment, request_cache=False, **options)
    registry, entity_type = benchdata.registry(), benchdata.ENTITY_TYPE
    index = backend._index(CATALOG, entity_type, aggregate=True)
    hits = backend._reader.search(index=index, body={'size': 2 * args.batch, '_source': False,
                                                     'sort': ['_doc']})['hits']['hits']
    ids = [hit['_id'] for hit in hits]
    stored = backend.read_aggregates(CATALOG, entity_type, ids)
    # The contents of others than those written: a permutation of the batch's
    # own would change no count
    others = [stored[i].aggregate for i in ids[args.batch:]]
    ids = ids[:args.batch]
    originals = [stored[i].aggregate for i in ids]
    swapped = [attrs.evolve(other, entity_id=entity_id)
               for entity_id, other in zip(ids, others, strict=True)]
    walls, cpus, reads, read_cpus = [], [], [], []
    page = SearchRequest(entity_type=entity_type, filters=Filters(),
                         sort=Sort(registry['fileName']), size=10, facets=registry.facets)
    for round_ in range(args.repeat):
        contents = swapped if args.mode == 'swap' and round_ % 2 == 0 else originals
        versions = backend.read_versions(CATALOG, entity_type, ids)
        writes = [AggregateWrite(a.entity_id,
                                 IndexedAggregate(a, registry.extract(a.to_json())),
                                 versions[a.entity_id]) for a in contents]
        wall, cpu = time.perf_counter(), time.process_time()
        conflicts = backend.write_aggregates(CATALOG, entity_type, writes)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        assert conflicts == [], conflicts
        if args.read:
            wall, cpu = time.perf_counter(), time.process_time()
            backend.search(CATALOG, page)
            reads.append((time.perf_counter() - wall) * 1000)
            read_cpus.append((time.process_time() - cpu) * 1000)
    print(json.dumps({
        'mode': args.mode, 'batch': len(ids), 'kept': 'kept_counts' in options and args.kept,
        'p50_ms': round(statistics.median(walls), 1),
        'p95_ms': round(percentile(walls, 95), 1),
        'cpu_p50_ms': round(statistics.median(cpus), 1),
        **({'read_p50_ms': round(statistics.median(reads), 1),
            'read_cpu_p50_ms': round(statistics.median(read_cpus), 1)} if reads else {}),
        'load_avg': [round(x, 2) for x in os.getloadavg()],
    }))
    backend.close()


if __name__ == '__main__':
    main()
