"""
Generate a synthetic AnVIL catalog and reindex it in bulk, as
`bench_reindex.py` does for HCA: one JSON line for the generation, one per
tenth of the bundles transformed and of the contributions folded, then a
summary of the reindex (wall and CPU seconds, contributions, aggregates, peak
RSS, the load average on every line).

    python scripts/bench_anvil.py --biosamples N [--seed S]
        [--backend duckdb|opensearch] [--duckdb-path FILE] [--workers N] [--keep DIR]

The catalog `bench` has atlas and metadata plugin `anvil` over the canned
repository. The DuckDB file is created anew (default: in a temporary
directory); with OpenSearch, AZUL_ES_ENDPOINT names the node.
"""
import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import attrs

from azul import envfiles
from azul.config import Config
from azul.indexer.reindex import reindex
from azul.plugins.repository.canned.anvil import SUFFIX
from azul.runtime import Runtime
from azul.synth.anvil import generate_anvil

ROOT = Path(__file__).resolve().parents[1]


def emit(record: dict) -> None:
    record['load'] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(record), flush=True)


def _cpu(usage: resource.struct_rusage) -> float:
    return round(usage.ru_utime + usage.ru_stime, 1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--biosamples', type=int, required=True)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--backend', choices=('duckdb', 'opensearch'), default='duckdb')
    parser.add_argument('--duckdb-path', type=Path)
    parser.add_argument('--workers', type=int, help='default: one per core')
    parser.add_argument('--keep', type=Path,
                        help='generate into this (empty or new) directory and keep it')
    args = parser.parse_args(argv)
    envfiles.load(os.environ)
    with tempfile.TemporaryDirectory(prefix='azul-bench-anvil-') as tmp:
        source = args.keep or Path(tmp, 'catalog')
        start = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_SELF)
        stats = generate_anvil(args.biosamples, source, seed=args.seed)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        emit({'measure': 'generate', 'biosamples': stats.biosamples, 'bundles': stats.bundles,
              'datasets': stats.datasets, 'donors': stats.donors,
              'files': stats.files + stats.supplementary_files,
              'seconds': round(time.perf_counter() - start, 1),
              'cpu_seconds': round(_cpu(usage) - _cpu(before), 1)})

        env = envfiles.evaluate({}, ROOT)
        env.update(AZUL_CATALOGS=json.dumps({'bench': {
            'atlas': 'anvil', 'internal': False,
            'plugins': {'metadata': {'name': 'anvil'}, 'repository': {'name': 'canned'}},
            # The bundle files only, not the generator's stats.json
            'sources': [f'file://{source.resolve()}/*{SUFFIX}']}}),
            AZUL_INDEX_BACKEND=args.backend,
            AZUL_DUCKDB_PATH=str(args.duckdb_path or Path(tmp, 'bench.duckdb')),
            AZUL_DATA_DIR=tmp)
        for name in ('AZUL_ES_ENDPOINT', 'AZUL_DUCKDB_MEMORY_LIMIT'):
            if name in os.environ:
                env[name] = os.environ[name]
        if args.duckdb_path is not None:
            args.duckdb_path.unlink(missing_ok=True)
        runtime = Runtime(Config.from_env(env))
        totals: dict[str, int] = {}
        done = {'bundles': 0, 'contributions': 0}
        start = time.perf_counter()
        cpu_before = _cpu(resource.getrusage(resource.RUSAGE_SELF))

        def on_total(what: str, total: int) -> None:
            totals[what] = total
            emit({'measure': 'start', 'what': what, 'total': total,
                  'seconds': round(time.perf_counter() - start, 1)})

        def progress(what: str):
            def step(n: int) -> None:
                tenth = done[what] * 10 // max(totals[what], 1)
                done[what] += n
                if done[what] * 10 // max(totals[what], 1) > tenth:
                    usage = resource.getrusage(resource.RUSAGE_SELF)
                    emit({'measure': 'window', 'what': what, 'done': done[what],
                          'seconds': round(time.perf_counter() - start, 1),
                          'cpu_seconds': round(_cpu(usage) - cpu_before, 1),
                          'peak_rss_mb': usage.ru_maxrss // 1024})
            return step

        report = reindex(runtime, 'bench', None, on_total=on_total,
                         on_bundle=progress('bundles'),
                         on_entities=progress('contributions'),
                         workers=args.workers)
        wall = time.perf_counter() - start
        runtime.close()
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    emit({'measure': 'reindex', 'backend': args.backend, 'biosamples': args.biosamples,
          'bundles': report.bundles, 'contributions': report.contributions,
          'aggregates': report.aggregates, 'problems': len(report.problems),
          'seconds': round(wall, 1),
          # This process's CPU since the reindex began, and its workers'
          'cpu_seconds': round(_cpu(own) - cpu_before, 1),
          'worker_cpu_seconds': _cpu(children),
          'peak_rss_mb': own.ru_maxrss // 1024,
          'worker_peak_rss_mb': children.ru_maxrss // 1024,
          'bundles_per_second': round(report.bundles / wall, 1),
          'timings': {k: round(v, 1) for k, v in attrs.asdict(report.timings).items()}})
    return 0 if not report.problems else 1


if __name__ == '__main__':
    sys.exit(main())
