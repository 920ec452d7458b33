"""
The cost of requests at the limits of azul.core.limits (AZUL_MAX_*) and of
the requests the limits refuse, on both backends: the HCA fixture bundles are
indexed into a fresh deployment of each, then every request runs `--repeat`
times through the service app. Prints one JSON line per request: status and
the median wall-clock and CPU seconds of this process (OpenSearch's own CPU
is in the wall-clock time).

    AZUL_ES_ENDPOINT=http://127.0.0.1:9200 .venv/bin/python scripts/bench_limits.py
"""
import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / 'test' / 'http'), str(ROOT / 'test')]

from azul.core.limits import Limits  # noqa: E402
from azul.indexer.index import Indexer  # noqa: E402
from azul.runtime import Runtime  # noqa: E402
from conftest import CATALOG, SOURCES, ServiceClient, load_app_module, make_config  # noqa: E402


def ids(n: int, seed: int) -> list[str]:
    return [str(uuid.UUID(int=seed << 64 | i)) for i in range(n)]


def requests(limits: Limits) -> dict[str, tuple[str, str, str | None]]:
    terms, ranges, total = limits.filter_terms, limits.filter_ranges, limits.filter_values
    fields = ('fileId', 'projectId', 'sampleId', 'fileName', 'donorDisease', 'organ')
    values: dict = {}
    left = total - ranges
    for i, name in enumerate(fields):
        n = min(terms, left)
        if n:
            values[name] = {'is': ids(n, i)}
            left -= n
    half = ranges // 2
    at_limits = {**values,
                 'fileSize': {'within': [[i, 10 ** 12] for i in range(half)]},
                 'organismAgeRange': {'intersects': [[i, 10 ** 10] for i in range(ranges - half)]}}
    only_ranges = {'fileSize': {'within': [[i, 10 ** 12] for i in range(ranges)]}}
    refused = {
        'refused: 20,000 ranges': {'fileSize': {'within': [[0, 10 ** 12]] * 20_000}},
        'refused: 20,000 is values': {'fileId': {'is': ids(20_000, 0)}},
    }
    result = {}
    for name, filters in (('all values and ranges', at_limits), ('all ranges', only_ranges)):
        text = quote(json.dumps(filters))
        result[f'{name}: files'] = ('POST', '/index/files', json.dumps({'filters': filters}))
        result[f'{name}: projects'] = ('POST', '/index/projects',
                                       json.dumps({'filters': filters}))
        result[f'{name}: summary'] = ('GET', f'/index/summary?filters={text}', None)
    for name, filters in refused.items():
        result[name] = ('GET', f'/index/files?filters={quote(json.dumps(filters))}', None)
    result['refused: 100,000 levels deep'] = ('GET', '/index/files?filters='
                                              + quote('[' * 100_000 + ']' * 100_000), None)
    return result


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--backends', default='duckdb,opensearch')
    parser.add_argument('--repeat', type=int, default=5)
    args = parser.parse_args()
    app_module = load_app_module()
    for kind in args.backends.split(','):
        runtime = Runtime(make_config(kind, Path(tempfile.mkdtemp()),
                                      't' + uuid.uuid4().hex[:10]))
        try:
            indexer = Indexer(runtime)
            indexer.create_indices(CATALOG)
            for source in SOURCES:
                bundles = runtime.repository_plugin(CATALOG).list_bundles(source).bundles
                indexer.index_bundles(CATALOG, source, bundles)
            client = ServiceClient(app_module.create_app(lambda runtime=runtime: runtime),
                                   runtime)
            for name, (method, path, body) in requests(runtime.config.limits).items():
                walls, cpus, status = [], [], None
                for _ in range(args.repeat):
                    start, start_cpu = time.perf_counter(), cpu()
                    status = client.request(method, path, body=body).status
                    walls.append(time.perf_counter() - start)
                    cpus.append(cpu() - start_cpu)
                print(json.dumps({'backend': kind, 'request': name, 'status': status,
                                  'wall_s': round(statistics.median(walls), 3),
                                  'cpu_s': round(statistics.median(cpus), 3)}), flush=True)
        finally:
            runtime.backend.drop_deployment()
            runtime.close()


if __name__ == '__main__':
    main()
