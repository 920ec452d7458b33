"""
The local server under a portal's load: C concurrent clients, each sending
the HCA Data Browser's requests (first pages of projects, samples and files
with all facets, the summary, catalogs, a filtered page, a detail page, the
next page) in random order for D seconds, over real HTTP against
`LocalServer` serving a synthetic catalog (`azul synth`, indexed in process).
Prints one JSON line per backend: requests, requests per second, latency
percentiles, statuses other than 200, and the load average.

    AZUL_ES_ENDPOINT=http://127.0.0.1:9200 .venv/bin/python scripts/bench_load.py \\
        --bundles 1000 --clients 16 --seconds 30 --backends duckdb,opensearch
"""
import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / 'test' / 'http'), str(ROOT / 'test')]

from azul.adapters.server import LocalServer  # noqa: E402
from azul.indexer.index import Indexer  # noqa: E402
from azul.runtime import Runtime  # noqa: E402
from azul_dev.synth.generator import generate  # noqa: E402
from conftest import catalog_spec, make_config  # noqa: E402

CATALOG = 'dcp'
FILTER = quote(json.dumps({'genusSpecies': {'is': ['Homo sapiens']}}))


def mix(project_ids: list[str]) -> list[str]:
    """The portal's requests, weighted by how often a visit sends them."""
    return [
        '/index/catalogs',
        f'/index/summary?catalog={CATALOG}',
        f'/index/summary?catalog={CATALOG}&filters={FILTER}',
        *[f'/index/projects?catalog={CATALOG}&size=75'] * 3,
        *[f'/index/samples?catalog={CATALOG}&size=25'] * 2,
        *[f'/index/files?catalog={CATALOG}&size=25'] * 2,
        f'/index/files?catalog={CATALOG}&size=25&filters={FILTER}',
        f'/index/files?catalog={CATALOG}&size=25&sort=fileSize&order=desc',
        *[f'/index/projects/{p}?catalog={CATALOG}' for p in project_ids[:3]],
    ]


def client(base: str, paths: list[str], until: float, seed: int,
           results: list[tuple[float, int]]) -> None:
    rng = random.Random(seed)
    own = []
    while time.monotonic() < until:
        path = rng.choice(paths)
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(base + path, timeout=60) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as e:
            status = e.code
        except OSError:
            status = 0
        own.append((time.perf_counter() - start, status))
    results.extend(own)


def run(kind: str, bundles_dir: Path, data_dir: Path, clients: int, seconds: float) -> None:
    source = f'file://{bundles_dir}/*-*.json'
    config = make_config(kind, data_dir, 'l' + uuid.uuid4().hex[:10],
                         catalogs={CATALOG: catalog_spec([source])})
    runtime = Runtime(config)
    try:
        start = time.perf_counter()
        indexer = Indexer(runtime)
        indexer.create_indices(CATALOG)
        listing = runtime.repository_plugin(CATALOG).list_bundles(source)
        indexer.index_bundles(CATALOG, source, listing.bundles)
        load_s = time.perf_counter() - start
        server = LocalServer(runtime, '127.0.0.1', 0, worker=False)
        server.start()
        try:
            with urllib.request.urlopen(f'{server.url}/index/projects?catalog={CATALOG}'
                                        f'&size=3') as response:
                projects = [h['entryId'] for h in json.loads(response.read())['hits']]
            paths = mix(projects)
            results: list[tuple[float, int]] = []
            until = time.monotonic() + seconds
            threads = [threading.Thread(target=client,
                                        args=(server.url, paths, until, i, results))
                       for i in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            server.stop()
        latencies = sorted(r[0] for r in results)
        errors: dict[str, int] = {}
        for _, status in results:
            if status != 200:
                errors[str(status)] = errors.get(str(status), 0) + 1

        def pct(p: float) -> float:
            return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)

        print(json.dumps({
            'backend': kind, 'bundles': len(listing.bundles), 'clients': clients,
            'seconds': seconds, 'index_s': round(load_s, 1), 'requests': len(results),
            'rps': round(len(results) / seconds, 1), 'p50_ms': pct(0.5), 'p95_ms': pct(0.95),
            'p99_ms': pct(0.99), 'mean_ms': round(statistics.fmean(latencies) * 1000, 1),
            'not_200': errors, 'load_avg': [round(x, 2) for x in os.getloadavg()],
        }), flush=True)
    finally:
        runtime.backend.drop_deployment()
        runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--bundles', type=int, default=1000)
    parser.add_argument('--clients', type=int, default=16)
    parser.add_argument('--seconds', type=float, default=30)
    parser.add_argument('--backends', default='duckdb')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bundles_dir = Path(tmp) / 'bundles'
        generate(args.bundles, bundles_dir, seed=1)
        for kind in args.backends.split(','):
            run(kind, bundles_dir, Path(tmp) / kind, args.clients, args.seconds)


if __name__ == '__main__':
    main()
