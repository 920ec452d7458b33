"""
The OpenSearch node's own CPU time per request of bench_backends' portal mix,
for a machine whose load average makes wall times meaningless: on a loaded
2-core machine a request's wall time is mostly waiting for a core, the more so
the more threads a request passes through. Prints one JSON line per measure:

  {"measure": "page_sorted", "docs": 1000000, "node_cpu_ms": 41.2, "took_p50_ms": 38,
   "wall_p50_ms": 120.5, "wall_p95_ms": 180.2, "client_cpu_p50_ms": 3.1, "load_avg": 9.1}

`node_cpu_ms` is the node's process CPU time over the repetitions divided by
their number (so background merges, if any, count too: run it on an idle
index); `took_p50_ms` is OpenSearch's own `took` of the slower search of the
request. Uncached by default (`request_cache=False`: neither the shard request
cache nor the backend's cache of counts); `--cached` measures with both, after
one call that fills them. `--profile` prints, instead, one line per search of
each measure with the time of each aggregation and of the query from
OpenSearch's profile API (`"profile": true`), children of an aggregation
named `parent > child`. Needs documents loaded by

  python scripts/bench_backends.py --backends opensearch --reuse --deployment bench --docs N

  python scripts/bench_opensearch_cpu.py --docs N [--repeat 20] [--measures a,b]
      [--cached] [--profile]
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from azul.backends.opensearch import OpenSearchBackend  # noqa: E402
from azul_dev import benchdata  # noqa: E402
from bench_backends import CATALOG, _node_cpu, percentile, portal_mix  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--docs', type=int, required=True)
    parser.add_argument('--repeat', type=int, default=20)
    parser.add_argument('--deployment', default='bench')
    parser.add_argument('--measures', help='comma-separated measures (default: all)')
    parser.add_argument('--cached', action='store_true',
                        help="with OpenSearch's request cache and the backend's cache of counts")
    parser.add_argument('--profile', action='store_true',
                        help="print the profile API's timings instead of measuring")
    args = parser.parse_args()
    backend = OpenSearchBackend(endpoint=os.environ['AZUL_ES_ENDPOINT'], prefix='azul',
                                deployment=args.deployment,
                                request_cache=None if args.cached else False)
    count = backend.count(CATALOG, benchdata.ENTITY_TYPE)
    if count != args.docs:
        raise SystemExit(f'{count} documents loaded, not {args.docs}')
    took: list[int] = []
    msearch, search = backend._reader.msearch, backend._reader.search

    def timed_msearch(**kwargs):
        response = msearch(**kwargs)
        took.append(max(r['took'] for r in response['responses']))
        return response

    def timed_search(**kwargs):
        response = search(**kwargs)
        took.append(response['took'])
        return response

    backend._reader.msearch, backend._reader.search = timed_msearch, timed_search
    only = args.measures.split(',') if args.measures else None
    for measure, call in portal_mix(backend, benchdata.registry()).items():
        if only is not None and measure not in only:
            continue
        call()
        if args.profile:
            profile(backend, measure, call)
            continue
        took.clear()
        walls, cpus = [], []
        node_cpu = _fresh_node_cpu(backend)
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            call()
            walls.append((time.perf_counter() - start) * 1000)
            cpus.append((time.process_time() - start_cpu) * 1000)
        node_ms = (_fresh_node_cpu(backend) - node_cpu) * 1000 / args.repeat
        print(json.dumps({
            'measure': measure, 'docs': count, 'node_cpu_ms': round(node_ms, 1),
            # None: every repetition answered from the backend's cache
            'took_p50_ms': statistics.median(took) if took else None,
            'wall_p50_ms': round(statistics.median(walls), 1),
            'wall_p95_ms': round(percentile(walls, 95), 1),
            'client_cpu_p50_ms': round(statistics.median(cpus), 1),
            'load_avg': round(os.getloadavg()[0], 1),
        }), flush=True)
    backend.close()


def _fresh_node_cpu(backend: OpenSearchBackend) -> float:
    # The node samples its process's CPU time at most once a second
    # (`monitor.process.refresh_interval`): a reading right after a short
    # request may predate it
    time.sleep(1.1)
    return _node_cpu(backend)


def profile(backend: OpenSearchBackend, measure: str, call) -> None:
    """One line per search of the measure's request, from OpenSearch's profile API."""
    reader = backend._reader
    msearch, search = reader.msearch, reader.search
    profiles = []

    def profiled_msearch(body, **kwargs):
        body = [dict(line, profile=True) if i % 2 else line for i, line in enumerate(body)]
        response = msearch(body=body, **kwargs)
        profiles.extend(r['profile'] for r in response['responses'])
        return response

    def profiled_search(body, **kwargs):
        response = search(body=dict(body, profile=True), **kwargs)
        profiles.append(response['profile'])
        return response

    reader.msearch, reader.search = profiled_msearch, profiled_search
    try:
        call()
    finally:
        reader.msearch, reader.search = msearch, search
    for i, found in enumerate(profiles):
        [shard] = found['shards']
        timings: dict[str, float] = {}
        for query in shard['searches']:
            for q in query['query']:
                timings[f"query {q['type']}"] = q['time_in_nanos'] / 1e6
            timings['rewrite'] = query['rewrite_time'] / 1e6
            for c in query['collector']:
                timings[f"collector {c['name']}"] = c['time_in_nanos'] / 1e6
        _aggregation_times(shard['aggregations'], timings)
        print(json.dumps({'measure': measure, 'search': i,
                          'ms': {k: round(v, 1) for k, v in timings.items()},
                          'load_avg': round(os.getloadavg()[0], 1)}), flush=True)


def _aggregation_times(aggs, timings: dict[str, float], prefix: str = '') -> None:
    for agg in aggs:
        name = f"{prefix}{agg['description']} ({agg['type']})"
        timings[name] = agg['time_in_nanos'] / 1e6
        _aggregation_times(agg.get('children', ()), timings, name + ' > ')


if __name__ == '__main__':
    main()
