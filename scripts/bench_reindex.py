"""
The bulk reindex of a synthetic catalog, in windows: one JSON line per tenth
of the bundles transformed and per tenth of the contributions folded (wall
seconds, this process's CPU seconds, the number and CPU seconds of its
garbage collector's full passes and peak RSS so far), then a summary line
with the workers' CPU. Whether the reindex is linear shows in the windows:
with a steady load, each tenth should take about as long as the first.

    python scripts/bench_reindex.py --source DIR [--backend duckdb|opensearch]
        [--duckdb-path FILE] [--workers N]

DIR is the output of `azul synth --bundles N --out DIR`. The DuckDB file is
created anew (default: a temporary directory); with OpenSearch,
AZUL_ES_ENDPOINT names the node and the catalog `bench` is recreated.
"""
import argparse
import gc
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import attrs

from azul import envfiles
from azul.config import Config
from azul.indexer.reindex import reindex
from azul.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]


def emit(record: dict) -> None:
    record['load'] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(record), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--source', type=Path, required=True)
    add_reindex_arguments(parser)
    args = parser.parse_args(argv)
    return bench(f'file://{args.source.resolve()}/*-*.json', 'hca', args)


def add_reindex_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--backend', choices=('duckdb', 'opensearch'), default='duckdb')
    parser.add_argument('--duckdb-path', type=Path)
    parser.add_argument('--workers', type=int, help='default: one per core')


def bench(source: str, atlas: str, args: argparse.Namespace, **summary: Any) -> int:
    """
    Reindex the canned `source` into a catalog `bench` of `atlas` (its
    metadata plugin of the same name), emitting the windows and a summary
    line with `summary` added to it. Zero if no bundle failed.
    """
    envfiles.load(os.environ)
    with tempfile.TemporaryDirectory(prefix='azul-bench-reindex-') as tmp:
        env = envfiles.evaluate({}, ROOT)
        env.update(AZUL_CATALOGS=json.dumps({'bench': {
            'atlas': atlas, 'internal': False,
            'plugins': {'metadata': {'name': atlas}, 'repository': {'name': 'canned'}},
            'sources': [source]}}),
            AZUL_INDEX_BACKEND=args.backend,
            AZUL_DUCKDB_PATH=str(args.duckdb_path or Path(tmp, 'bench.duckdb')),
            AZUL_DATA_DIR=tmp)
        for name in ('AZUL_ES_ENDPOINT', 'AZUL_DUCKDB_MEMORY_LIMIT'):
            if name in os.environ:
                env[name] = os.environ[name]
        if args.duckdb_path is not None:
            args.duckdb_path.unlink(missing_ok=True)
        runtime = Runtime(Config.from_env(env))
        start = time.perf_counter()
        cpu_before = _cpu(resource.getrusage(resource.RUSAGE_SELF))
        totals: dict[str, int] = {}
        done = {'bundles': 0, 'contributions': 0}
        full_passes = _FullPasses()
        gc.callbacks.append(full_passes)

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
                          'gc_full_cpu_seconds': round(full_passes.seconds, 2),
                          'gc_full_passes': full_passes.count,
                          'peak_rss_mb': usage.ru_maxrss // 1024})
            return step

        report = reindex(runtime, 'bench', None, on_total=on_total,
                         on_bundle=progress('bundles'),
                         on_entities=progress('contributions'),
                         workers=args.workers)
        wall = time.perf_counter() - start
        gc.callbacks.remove(full_passes)
        runtime.close()
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    emit({'measure': 'reindex', 'backend': args.backend, **summary,
          'bundles': report.bundles,
          'contributions': report.contributions, 'aggregates': report.aggregates,
          'problems': len(report.problems), 'seconds': round(wall, 1),
          # This process's CPU since the reindex began, and its workers'
          'cpu_seconds': round(_cpu(own) - cpu_before, 1),
          'worker_cpu_seconds': round(_cpu(children), 1),
          'gc_full_cpu_seconds': round(full_passes.seconds, 2),
          'gc_full_passes': full_passes.count,
          'peak_rss_mb': own.ru_maxrss // 1024,
          'worker_peak_rss_mb': children.ru_maxrss // 1024,
          'bundles_per_second': round(report.bundles / wall, 1),
          'timings': {k: round(v, 1) for k, v in attrs.asdict(report.timings).items()}})
    return 0 if not report.problems else 1


class _FullPasses:
    """A `gc.callbacks` entry: the CPU seconds of the collector's full passes, in any thread."""

    def __init__(self):
        self.seconds = 0.0
        self.count = 0
        self._started: dict[int, float] = {}

    def __call__(self, phase: str, info: dict) -> None:
        if info['generation'] != 2:
            return
        thread = threading.get_ident()
        if phase == 'start':
            self._started[thread] = time.thread_time()
        elif thread in self._started:
            self.seconds += time.thread_time() - self._started.pop(thread)
            self.count += 1


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


if __name__ == '__main__':
    sys.exit(main())
