"""
Index every `*.dss.hca.json` bundle of the shared fixtures into the embedded
backend and print one JSON line per measure: `transform` (fetch + parse +
transform), `write` (contributions), `aggregate` (read contributions, fold,
write aggregates), `total` (wall clock of the whole reindex, including
index creation and listing) and `cpu` (this process's CPU seconds for the
same: on a shared machine, steadier than the wall clock).

    python scripts/bench_indexer.py [--fixtures DIR] [--repeat N] [--profile]
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from azul import envfiles
from azul.config import Config
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


def run_once(fixtures: Path, data_dir: Path) -> dict:
    env = envfiles.evaluate({}, ROOT)
    env.update(AZUL_CATALOGS=catalog_json(fixtures), AZUL_INDEX_BACKEND='duckdb',
               AZUL_DUCKDB_PATH=str(data_dir / 'bench.duckdb'), AZUL_DATA_DIR=str(data_dir))
    runtime = Runtime(Config.from_env(env))
    start, cpu = time.perf_counter(), time.process_time()
    report = reindex(runtime, 'bench')
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    runtime.close()
    return {'report': report, 'total': total, 'cpu': cpu}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--fixtures', type=Path, default=DEFAULT_FIXTURES)
    parser.add_argument('--repeat', type=int, default=3, help='runs; the fastest is reported')
    parser.add_argument('--profile', action='store_true', help='print a pyinstrument profile')
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
            runs.append(run_once(args.fixtures, Path(tmp)))
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
    return 0


if __name__ == '__main__':
    sys.exit(main())
