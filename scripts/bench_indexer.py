"""
Index every `*.dss.hca.json` bundle of the shared fixtures into the embedded
backend and print one JSON line per measure: `transform` (fetch + parse +
transform), `write` (contributions), `aggregate` (read contributions, fold,
write aggregates), `total` (wall clock of the whole reindex, including
index creation and listing) and `cpu` (this process's CPU seconds for the
same: on a shared machine, steadier than the wall clock). With `--parts`,
also a `parts` line: the CPU seconds of each part of the reindex (its
listing, transform, replica and contribution writes, fold, aggregate writes,
the creation of the new generation, the end of the bulk load with the
replica indexes and the final checkpoint, the switch, and the rest), each
the least of the runs.

    python scripts/bench_indexer.py [--fixtures DIR] [--repeat N] [--profile] [--parts]
"""
import argparse
import collections
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from azul import envfiles
from azul.config import Config
from azul.indexer import reindex as reindex_module
from azul.indexer.reindex import reindex
from azul.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURES = ROOT.parent / 'shared' / 'fixtures' / 'hca' / 'bundles' / 'indexer'


def catalog_json(directory: Path) -> str:
    return json.dumps({'bench': {
        'atlas': 'hca', 'internal': False,
        'plugins': {'metadata': {'name': 'hca'}, 'repository': {'name': 'canned'}},
        'sources': [f'file://{directory.resolve()}/*.dss.hca.json'],
    }})


def run_once(fixtures: Path, data_dir: Path, parts: bool = False) -> dict:
    env = envfiles.evaluate({}, ROOT)
    env.update(AZUL_CATALOGS=catalog_json(fixtures), AZUL_INDEX_BACKEND='duckdb',
               AZUL_DUCKDB_PATH=str(data_dir / 'bench.duckdb'), AZUL_DATA_DIR=str(data_dir))
    runtime = Runtime(Config.from_env(env))
    seconds: collections.Counter = collections.Counter()
    with timed_parts(runtime, seconds) if parts else contextlib.nullcontext():
        start, cpu = time.perf_counter(), time.process_time()
        report = reindex(runtime, 'bench')
        total, cpu = time.perf_counter() - start, time.process_time() - cpu
    runtime.close()
    if parts:
        seconds['rest'] = cpu - sum(seconds.values())
    return {'report': report, 'total': total, 'cpu': cpu, 'parts': dict(seconds)}


@contextlib.contextmanager
def timed_parts(runtime: Runtime, seconds: collections.Counter) -> Iterator[None]:
    """Add the CPU seconds of each part of a reindex to `seconds`, by part."""

    def timed(function: Callable, part: str) -> Callable:
        def wrapper(*args, **kwargs):
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[part] += time.process_time() - start
        return wrapper

    backend = runtime.backend
    bulk_load = backend.bulk_load

    @contextlib.contextmanager
    def timed_bulk_load(catalog: str) -> Iterator[None]:
        load = bulk_load(catalog)
        load.__enter__()
        try:
            yield
        except BaseException:
            if not load.__exit__(*sys.exc_info()):
                raise
        else:
            start = time.process_time()
            load.__exit__(None, None, None)
            seconds['bulk_load_end'] += time.process_time() - start

    for name, part in (('begin_generation', 'begin'), ('write_replicas', 'replicas'),
                       ('load_contributions', 'contributions'),
                       ('load_aggregates', 'aggregate_writes'), ('switch_generation', 'switch')):
        setattr(backend, name, timed(getattr(backend, name), part))
    backend.bulk_load = timed_bulk_load
    functions = {name: getattr(reindex_module, name)
                 for name in ('list_source', 'transform_chunk', 'fold_chunk')}
    for name, function in functions.items():
        setattr(reindex_module, name, timed(function, name.removesuffix('_chunk')))
    try:
        yield
    finally:
        for name, function in functions.items():
            setattr(reindex_module, name, function)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--fixtures', type=Path, default=DEFAULT_FIXTURES)
    parser.add_argument('--repeat', type=int, default=3, help='runs; the fastest is reported')
    parser.add_argument('--profile', action='store_true', help='print a pyinstrument profile')
    parser.add_argument('--parts', action='store_true', help='print the CPU seconds by part')
    args = parser.parse_args(argv)
    envfiles.load(os.environ)
    runs = []
    profiler = None
    if args.profile:
        from pyinstrument import Profiler
        profiler = Profiler()
        profiler.start()
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(run_once(args.fixtures, Path(tmp), args.parts))
    if profiler:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False), file=sys.stderr)
    best = min(runs, key=lambda r: r['total'])
    report = best['report']
    common = {'bundles': report.bundles, 'contributions': report.contributions,
              'aggregates': report.aggregates}
    for measure, seconds in (('transform', report.timings.transform),
                             ('write', report.timings.write),
                             ('aggregate', report.timings.aggregate),
                             ('total', best['total']),
                             ('cpu', min(r['cpu'] for r in runs))):
        print(json.dumps({'measure': measure, 'seconds': round(seconds, 3), **common,
                          'load': [round(x, 2) for x in os.getloadavg()]}))
    if args.parts:
        parts = {part: round(min(r['parts'].get(part, 0.0) for r in runs), 3)
                 for part in runs[0]['parts']}
        print(json.dumps({'measure': 'parts', 'cpu_seconds': parts, **common,
                          'load': [round(x, 2) for x in os.getloadavg()]}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
