"""
The portal's filtered requests on DuckDB while writes keep coming (issue
16): each round writes a few documents, as a notification would, and then
repeats the filtered measures of `bench_backends.py` for a while. A write
stamps a new content version, whose term bitmaps and sort orders advance
from the old ones by what the write changed (`bitmap_advance`); with
`--no-advance` every new version needs a full build instead (paused ten
times its duration after each), as before advances. Prints one JSON line
per measure (p50/p95/max of every request, and the p95 of the first request
after each write), one for the writes, and one for the bitmaps' builds and
advances (count, wall p50/max).

    python scripts/bench_live_reads.py --duckdb-path FILE [--deployment bench]
        [--rounds 20] [--batch 10] [--replace 5] [--gap 3] [--no-advance]

The file is one that `bench_backends.py --docs N --reuse --duckdb-path FILE`
loaded. The writes change it: measure a copy. Each round writes `--batch`
new documents and writes `--replace` of the loaded ones again (a new row
each, the old one deleted, as an update of an entity does).
"""
import argparse
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import bench_backends as bench
from azul import collector
from azul.backends.base import AggregateWrite
from azul.backends.duckdb import bitmap_advance, bitmap_store
from azul_dev import benchdata

MEASURES = ('page_filtered', 'page_filtered_deep', 'summary_filtered')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--duckdb-path', type=Path, required=True)
    parser.add_argument('--deployment', default='bench')
    parser.add_argument('--rounds', type=int, default=20)
    parser.add_argument('--batch', type=int, default=10, help='new documents per write')
    parser.add_argument('--replace', type=int, default=5,
                        help='loaded documents written again per write')
    parser.add_argument('--gap', type=float, default=3.0, help='seconds of requests per round')
    parser.add_argument('--no-advance', action='store_true',
                        help='a full build for every new version, as before advances')
    args = parser.parse_args(argv)
    if args.no_advance:
        bitmap_advance.ADVANCE_MIN = 0
        bitmap_advance.ADVANCE_SHARE = 0
    spent: dict[str, list[float]] = {'build': [], 'advance': []}
    bitmap_store.build_bitmaps = _timed(bitmap_store.build_bitmaps, spent['build'])
    bitmap_store.advance = _timed(bitmap_store.advance, spent['advance'])
    with bench.backend_of('duckdb', args.duckdb_path, reuse=True,
                          deployment=args.deployment) as backend:
        count = backend.count(bench.CATALOG, benchdata.ENTITY_TYPE)
        if not count:
            raise SystemExit(f'No bench documents in {args.duckdb_path}: load them with '
                             f'bench_backends.py --reuse first')
        mix = bench.portal_mix(backend, benchdata.registry())
        # The first calls find the deep page's cursor and have the bitmaps built
        for measure in MEASURES:
            mix[measure]()
            bench.settle(backend)
        collector.freeze_held()
        spent['build'].clear()
        fresh = benchdata.generate(args.rounds * args.batch, seed=int(time.time()))
        # The loaded documents, in the order they were loaded
        loaded = benchdata.generate(count)
        times: dict[str, list[float]] = {m: [] for m in MEASURES}
        firsts: dict[str, list[float]] = {m: [] for m in MEASURES}
        writes = []
        for _ in range(args.rounds):
            docs = list(itertools.islice(fresh, args.batch))
            again = list(itertools.islice(loaded, args.replace))
            versions = backend.read_versions(bench.CATALOG, benchdata.ENTITY_TYPE,
                                             [d.entity_id for d in again])
            start = time.perf_counter()
            conflicts = backend.write_aggregates(bench.CATALOG, benchdata.ENTITY_TYPE, [
                *(AggregateWrite(d.entity_id, d, None) for d in docs),
                *(AggregateWrite(d.entity_id, d, versions[d.entity_id]) for d in again)])
            writes.append((time.perf_counter() - start) * 1000)
            assert not conflicts, conflicts[:3]
            end = time.monotonic() + args.gap
            first = True
            while time.monotonic() < end:
                for measure in MEASURES:
                    start = time.perf_counter()
                    mix[measure]()
                    ms = (time.perf_counter() - start) * 1000
                    times[measure].append(ms)
                    if first:
                        firsts[measure].append(ms)
                first = False
        load = os.getloadavg()[0]
        common = {'docs': count, 'rounds': args.rounds, 'batch': args.batch,
                  'replace': args.replace, 'gap_s': args.gap, 'advance': not args.no_advance,
                  'load_avg': load}
        for measure in MEASURES:
            ms = times[measure]
            _emit(measure=measure, requests=len(ms), p50_ms=_round(statistics.median(ms)),
                  p95_ms=_round(bench.percentile(ms, 95)), max_ms=_round(max(ms)),
                  first_p95_ms=_round(bench.percentile(firsts[measure], 95)), **common)
        _emit(measure='write', p50_ms=_round(statistics.median(writes)),
              max_ms=_round(max(writes)), **common)
        for kind, seconds in spent.items():
            _emit(measure=kind, count=len(seconds),
                  p50_ms=_round(statistics.median(seconds) * 1000) if seconds else None,
                  max_ms=_round(max(seconds) * 1000) if seconds else None, **common)


def _timed(function: Callable, into: list[float]) -> Callable:
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - start)
    return timed


def _round(value: float) -> float:
    return round(value, 1)


def _emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


if __name__ == '__main__':
    sys.exit(main())
