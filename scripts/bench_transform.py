"""
Measure the HCA transform and aggregation per bundle as a synthetic catalog
grows, to show that the cost of a bundle does not depend on the catalog's
size: each bundle file is read, transformed, and every entity it touches is
folded from that bundle's contribution alone. Files are read directly, not
through the canned repository, whose per-fetch directory scan is the
catalog-size cost of issue 16 and would hide this one.

Prints one JSON line per window of bundles, for example:

{"measure": "transform+aggregate", "bundles_done": 10000, "window": 10000,
 "ms_per_bundle": 4.1, "contributions": 91000, "load_average": 2.3}

and a final `total` line. Cross-bundle aggregation (all contributions of
an entity at once) is the indexer's and is benchmarked by bench_indexer.py.

With `--replicas`, each bundle's replicas (its metadata documents as
submitted, for the verbatim manifests) are computed and written to an
embedded DuckDB backend, one write per bundle as the indexer does, and their
cost is reported apart (`replicas_ms_per_bundle`, and the CPU time of the
process meanwhile, DuckDB's threads included, as
`replicas_cpu_ms_per_bundle`: on a shared machine the wall time also
measures the other processes), to show that it does not grow with the
number of replicas already stored. After each window, the replicas of the
last 100 bundles' hubs (their files and projects) are read back
(`replica_scan_ms`, `replica_scan_cpu_ms` for `replica_scan_replicas`), to
show that a read costs what it returns, not the catalog.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

try:
    from azul.core.aggregation import aggregate
except ImportError:
    # Allow running from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'src'))
    from azul.core.aggregation import aggregate
from azul.core.documents import BundleFQID
from azul.plugins.metadata.hca.plugin import HCAPlugin
from azul.plugins.repository.base import Bundle
from azul.plugins.repository.canned.names import BadBundleFile, parse_name
from azul_dev.synth import generate

CATALOG = 'bench'


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--bundles', type=int, default=100_000,
                        help='bundles to generate, or to read from --source (its first N)')
    parser.add_argument('--windows', type=int, default=10, help='JSON lines to print')
    parser.add_argument('--source', type=Path, default=None,
                        help='An existing directory of synthetic bundles (else generated)')
    parser.add_argument('--replicas', action='store_true',
                        help='also compute and store each bundle\'s replicas (DuckDB)')
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='bench_transform_') as tmp:
        directory = args.source
        if directory is None:
            directory = Path(tmp) / 'bundles'
            generate(args.bundles, directory)
        replicas = None
        if args.replicas:
            from azul.backends.duckdb.backend import DuckDBBackend
            replicas = DuckDBBackend(Path(tmp) / 'replicas.duckdb', 'bench', 'bench')
        run(directory, args.windows, replicas, args.bundles if args.source else None)


def _bundles(directory: Path) -> list[tuple[BundleFQID, Path]]:
    found = []
    for path in sorted(directory.iterdir()):
        try:
            uuid, version = parse_name(path.name)
        except BadBundleFile:
            continue  # deletions.json, stats.json
        found.append((BundleFQID(uuid, version), path))
    return found


def run(directory: Path, windows: int, replicas=None, limit: int | None = None) -> None:
    plugin = HCAPlugin()
    if replicas is not None:
        replicas.create_indices(CATALOG, plugin.entity_types, plugin.field_registry)
    replica_seconds = replica_cpu = 0.0
    recent_hubs: deque[list[str]] = deque(maxlen=100)
    bundles = _bundles(directory)[:limit]
    window = max(1, len(bundles) // windows)
    aggregators = {t: plugin.aggregators(t) for t in plugin.entity_types}
    done = contributions = 0
    total_start = start = time.perf_counter()
    for fqid, path in bundles:
        document = json.loads(path.read_bytes())
        bundle = Bundle(fqid=fqid, source=f'file://{directory}', manifest=document['manifest'],
                        metadata=document['metadata'], links=document['links'],
                        stitched=frozenset(document.get('stitched') or ()))
        for contribution in plugin.transform(bundle, False):
            contributions += 1
            aggregate(contribution.entity_type, contribution.entity_id, [contribution],
                      aggregators[contribution.entity_type])
        if replicas is not None:
            replica_start, cpu_start = time.perf_counter(), time.process_time()
            written = list(plugin.replicas(bundle, False))
            replicas.write_replicas(CATALOG, written)
            replica_seconds += time.perf_counter() - replica_start
            replica_cpu += time.process_time() - cpu_start
            recent_hubs.append([hub_id for replica in written for hub_id in replica.hub_ids])
        done += 1
        if done % window == 0 or done == len(bundles):
            now = time.perf_counter()
            size = done % window or window
            line = {'measure': 'transform+aggregate', 'bundles_done': done, 'window': size,
                    'ms_per_bundle': round(1000 * (now - start - replica_seconds) / size, 2),
                    'contributions': contributions, 'load_average': os.getloadavg()[0]}
            if replicas is not None:
                line['replicas_ms_per_bundle'] = round(1000 * replica_seconds / size, 2)
                line['replicas_cpu_ms_per_bundle'] = round(1000 * replica_cpu / size, 2)
                hub_ids = sorted({hub_id for hubs in recent_hubs for hub_id in hubs})
                scan_start, cpu_start = time.perf_counter(), time.process_time()
                found = sum(1 for _ in replicas.scan_replicas(CATALOG, hub_ids))
                line['replica_scan_ms'] = round(1000 * (time.perf_counter() - scan_start), 1)
                line['replica_scan_cpu_ms'] = round(1000 * (time.process_time() - cpu_start), 1)
                line['replica_scan_replicas'] = found
            print(json.dumps(line), flush=True)
            start, replica_seconds, replica_cpu = time.perf_counter(), 0.0, 0.0
    seconds = time.perf_counter() - total_start
    print(json.dumps({'measure': 'total', 'bundles': done, 'seconds': round(seconds, 1),
                      'contributions': contributions}), flush=True)


if __name__ == '__main__':
    main()
