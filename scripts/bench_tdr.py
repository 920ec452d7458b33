"""
Building HCA bundles from TDR snapshot tables: a synthetic catalog (the
output of `azul synth`) is written as snapshot tables (`azul_dev.synth.tdr`),
served by the local BigQuery stand-in, and the `tdr_hca` plugin lists and
fetches its bundles through the real `google-cloud-bigquery` client. One JSON
line per stage (seconds, bundles/s, this process's CPU seconds), and per
tenth of the bundles fetched, so that growth with the catalog shows.

    python scripts/bench_tdr.py --source DIR [--sample N] [--atlas hca|anvil]

With `--sample`, only N bundles (spread over the catalog) are fetched. With
`--atlas anvil`, DIR is the output of `azul synth --atlas anvil` and its
largest dataset is the snapshot (a TDR AnVIL snapshot holds one dataset),
fetched through `tdr_anvil`.
"""
import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from azul.core.documents import BundleFQID
from azul.plugins.repository.tdr.anvil import TDRAnvilRepository
from azul.plugins.repository.tdr.hca import TDRHCARepository
from azul.plugins.repository.tdr.local_bigquery import LocalBigQuery
from azul_dev.synth.tdr import anvil_tables_from_bundles, write_tables

PROJECT, DATASET = 'bench', 'snapshot'
SOURCE = f'tdr:bigquery:gcp:{PROJECT}:{DATASET}:'


class _Config:
    def __init__(self, endpoint: str):
        self.bigquery_endpoint = endpoint


def emit(record: dict) -> None:
    record['load'] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(record), flush=True)


def _cpu() -> float:
    return time.process_time()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--source', type=Path, required=True)
    parser.add_argument('--sample', type=int)
    parser.add_argument('--atlas', choices=('hca', 'anvil'), default='hca')
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='azul-bench-tdr-') as tmp:
        tables = Path(tmp, 'tables.json')
        start, cpu = time.perf_counter(), _cpu()
        count = (_anvil_tables(args.source, tables) if args.atlas == 'anvil'
                 else write_tables(args.source, tables))
        emit({'stage': 'tables', 'atlas': args.atlas, 'rows_or_bundles': count,
              'seconds': round(time.perf_counter() - start, 2),
              'cpu': round(_cpu() - cpu, 2)})
        start = time.perf_counter()
        with LocalBigQuery(project=PROJECT, datasets={DATASET: tables}) as bigquery:
            emit({'stage': 'load', 'seconds': round(time.perf_counter() - start, 2)})
            plugin_class = TDRAnvilRepository if args.atlas == 'anvil' else TDRHCARepository
            plugin = plugin_class(_Config(bigquery.url))
            start, cpu = time.perf_counter(), _cpu()
            fqids = plugin.list_bundles(SOURCE).bundles
            emit({'stage': 'list', 'bundles': len(fqids),
                  'seconds': round(time.perf_counter() - start, 2),
                  'cpu': round(_cpu() - cpu, 2)})
            if args.sample:
                step = max(1, len(fqids) // args.sample)
                fqids = fqids[::step][:args.sample]
            _fetch(plugin, fqids)
            plugin.close()
    return 0


def _anvil_tables(directory: Path, out: Path) -> int:
    """The largest dataset's tables of a synthetic AnVIL catalog; its number of rows."""
    documents = (json.loads(p.read_text()) for p in sorted(directory.glob('*.tdr.anvil.json')))
    snapshots = anvil_tables_from_bundles(documents)
    largest = max(snapshots.values(),
                  key=lambda s: len(s['tables'].get('anvil_biosample', {}).get('rows', ())))
    out.write_text(json.dumps(largest))
    return sum(len(t['rows']) for t in largest['tables'].values())


def _fetch(plugin: TDRHCARepository | TDRAnvilRepository, fqids: tuple[BundleFQID, ...]) -> None:
    window = max(1, len(fqids) // 10)
    start = window_start = time.perf_counter()
    cpu = window_cpu = _cpu()
    for i, fqid in enumerate(fqids, 1):
        plugin.fetch_bundle(SOURCE, fqid)
        if i % window == 0 or i == len(fqids):
            now = time.perf_counter()
            n = window if i % window == 0 else i % window
            emit({'stage': 'fetch window', 'fetched': i,
                  'bundles_per_s': round(n / (now - window_start), 1),
                  'cpu_ms_per_bundle': round(1000 * (_cpu() - window_cpu) / n, 1)})
            window_start, window_cpu = now, _cpu()
    seconds = time.perf_counter() - start
    emit({'stage': 'fetch', 'bundles': len(fqids), 'seconds': round(seconds, 2),
          'bundles_per_s': round(len(fqids) / seconds, 1),
          'cpu_ms_per_bundle': round(1000 * (_cpu() - cpu) / max(1, len(fqids)), 1)})


if __name__ == '__main__':
    raise SystemExit(main())
