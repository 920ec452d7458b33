"""
Azul at scale, end to end through its public interfaces only: a synthetic
catalog of N bundles (`azul synth`), a full reindex by `azul reindex` in a
child process, then `azul serve` on a free loopback port measured over HTTP
with the portal's request mix (pages of files, samples and projects with 0 to
3 filters, sorted pages, deep `search_after` paging, the summary).

Prints JSON lines only: `synth`, `reindex` (wall and CPU seconds and peak RSS
of the reindexing process, which with OpenSearch excludes the cluster), one
`request` line per request kind (p50/p95/p99) and an overall `requests` line.
Latencies include queueing behind the other clients (`--clients 1`: none).

    AZUL_ES_ENDPOINT=http://127.0.0.1:9200 python scripts/bench_scale.py \\
        --bundles 2000 --backend opensearch --dir /tmp/scale --reuse

The children import `azul` as this interpreter does: PYTHONPATH=<a `git
archive` of src> measures one commit while the checkout changes.
"""
import argparse
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote

CATALOG = 'scale'
# Facets whose most frequent values make the 1, 2 and 3 filters of a request
FILTER_FACETS = ('fileFormat', 'organ', 'biologicalSex')
ENTITIES = {'files': ('fileSize', 'desc'), 'samples': ('organ', 'asc'),
            'projects': ('projectTitle', 'asc')}


def log(message: str) -> None:
    print(f'bench_scale: {message}', file=sys.stderr, flush=True)


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank p-th percentile (0 < p <= 100) of `values`, or None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil without floats going astray
    return ordered[int(rank) - 1]


def latency_stats(seconds: list[float]) -> dict:
    def ms(value):
        return None if value is None else round(value * 1000, 1)
    return {'n': len(seconds), 'p50_ms': ms(percentile(seconds, 50)),
            'p95_ms': ms(percentile(seconds, 95)), 'p99_ms': ms(percentile(seconds, 99)),
            'mean_ms': ms(sum(seconds) / len(seconds)) if seconds else None,
            'max_ms': ms(max(seconds, default=None))}


def parse_report(text: str) -> dict:
    """The counts of `azul reindex`'s closing line (None where it says nothing)."""
    m = re.search(r'Indexed (\d+) bundle\(s\).*?: (\d+) contribution\(s\), '
                  r'(\d+) aggregate\(s\)', text)
    keys = ('indexed_bundles', 'contributions', 'aggregates')
    return dict(zip(keys, map(int, m.groups()), strict=True)) if m else dict.fromkeys(keys)


def child_env(args, data_dir: Path, sources: list[str], prefix: str) -> dict[str, str]:
    env = dict(os.environ)
    # Without the loader's bookkeeping every AZUL_* below counts as exported
    # by the caller, so the environment files cannot override them in the child
    env.pop('AZUL_ENV_MANAGED', None)
    # No HMAC key: a loopback server accepts unsigned notifications
    env.pop('AZUL_INDEXER_HMAC_KEY', None)
    catalog = {'atlas': 'hca', 'internal': False, 'sources': sources,
               'plugins': {'metadata': {'name': 'hca'}, 'repository': {'name': 'canned'}}}
    env.update(AZUL_DEPLOYMENT='local', AZUL_CATALOGS=json.dumps({CATALOG: catalog}),
               AZUL_INDEX_BACKEND=args.backend, AZUL_DATA_DIR=str(data_dir),
               AZUL_DUCKDB_PATH=str(data_dir / 'index.duckdb'),
               AZUL_QUEUE='local', AZUL_QUEUE_PATH=str(data_dir / 'queue.sqlite'),
               # A prefix of its own keeps this run's indices apart from the
               # tests' and other runs' on a shared cluster
               AZUL_INDEX_PREFIX=prefix, AZUL_HOST='127.0.0.1', AZUL_SERVICE_URL='',
               AZUL_ES_ENDPOINT=args.es_endpoint or '')
    return env


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends, which serve handles
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def azul(*argv: str) -> list[str]:
    return [sys.executable, '-m', 'azul.adapters.cli', *argv]


def synth(args, bundles_dir: Path) -> None:
    stats_file = bundles_dir / 'stats.json'
    if args.reuse and stats_file.exists():
        stats = json.loads(stats_file.read_text())
        if stats['bundles'] == args.bundles:
            emit({'measure': 'synth', 'bundles': args.bundles, 'reused': True, **stats})
            return
        log(f'{bundles_dir} holds {stats["bundles"]} bundles, not {args.bundles}: regenerating')
    if bundles_dir.exists():
        shutil.rmtree(bundles_dir)
    log(f'generating {args.bundles} bundles in {bundles_dir}')
    start = time.perf_counter()
    subprocess.run(azul('synth', '-q', '--bundles', str(args.bundles),
                        '--out', str(bundles_dir), '--seed', '0'), check=True,
                   stdout=sys.stderr)
    stats = json.loads(stats_file.read_text())
    emit({'measure': 'synth', 'bundles': args.bundles, 'reused': False,
          'seconds': round(time.perf_counter() - start, 1), **stats})


def last_progress(log_text: str) -> str | None:
    """The last state of the CLI's progress bars (tqdm rewrites its line with CR)."""
    lines = [line.strip() for line in re.split(r'[\r\n]', log_text)]
    return next((line for line in reversed(lines) if line.startswith(f'{CATALOG}: ')), None)


def reindex(args, env: dict[str, str], data_dir: Path) -> bool:
    """Whether the reindex completed (False: stopped after --reindex-timeout)."""
    log(f'reindexing into {args.backend}')
    out_path, log_path = data_dir / 'reindex.out', data_dir / 'reindex.log'
    with open(out_path, 'w') as out, open(log_path, 'w') as err:
        start = time.perf_counter()
        # The child's log and progress bars go to a file: the OpenSearch client
        # logs every request, and the bars say how far a stopped run got
        proc = subprocess.Popen(azul('reindex', '--catalog', CATALOG), env=env,
                                stdout=out, stderr=err)
        # SIGINT, as Ctrl-C, so that the CLI stops cleanly and is still reaped below
        timer = threading.Timer(args.reindex_timeout, proc.send_signal, (signal.SIGINT,))
        if args.reindex_timeout:
            timer.start()
        # wait4 gives this child's own rusage (and its reaped descendants'),
        # not that of every child of this process such as the synth run
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    stopped = proc.returncode != 0 and 0 < args.reindex_timeout <= wall
    if proc.returncode != 0 and not stopped:
        sys.exit(f'azul reindex failed with {proc.returncode}; see {log_path}')
    cpu = usage.ru_utime + usage.ru_stime
    emit({'measure': 'reindex', 'backend': args.backend, 'bundles': args.bundles,
          **parse_report(out_path.read_text()), 'stopped': stopped,
          'progress': last_progress(log_path.read_text(errors='replace')),
          'wall_s': round(wall, 1), 'cpu_s': round(cpu, 1),
          'user_s': round(usage.ru_utime, 1), 'sys_s': round(usage.ru_stime, 1),
          'peak_rss_mb': round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
          'bundles_per_s': None if stopped else round(args.bundles / wall, 1),
          'load_avg': load_avg()})
    return not stopped


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[float, int, dict | None]:
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            body, status = response.read(), response.status
    except urllib.error.HTTPError as e:
        body, status = e.read(), e.code
    except OSError:
        body, status = b'', 0
    elapsed = time.perf_counter() - start
    try:
        return elapsed, status, json.loads(body) if status == 200 else None
    except ValueError:
        return elapsed, status, None


def serve(env: dict[str, str], data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    # The child keeps its own copy of the descriptor
    with open(data_dir / 'serve.log', 'w') as log_file:
        proc = subprocess.Popen(azul('serve', '--host', '127.0.0.1', '--port', str(port)),
                                env=env, stdout=log_file, stderr=log_file)
    base = f'http://127.0.0.1:{port}'
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f'azul serve exited with {proc.returncode}; see {data_dir / "serve.log"}')
        if get(f'{base}/index/catalogs')[1] == 200:
            return proc, base
        time.sleep(0.3)
    proc.kill()
    sys.exit('azul serve did not answer within 120 s')


def request_mix(base: str, depth: int) -> tuple[dict[str, str], dict[str, str]]:
    """
    (kind -> URL of one request, kind -> URL of the first page of a deep
    walk). Filter values are the most frequent of the catalog, read from its
    facets, so that filtered pages match something at any N.
    """
    _, status, page = get(f'{base}/index/files?catalog={CATALOG}&size=1')
    assert status == 200, status
    terms = {}
    for facet in FILTER_FACETS:
        values = [t['term'] for t in page['termFacets'][facet]['terms']
                  if isinstance(t['term'], str)]
        assert values, (facet, page['termFacets'][facet])
        terms[facet] = values[0]
    filters = [quote(json.dumps({f: {'is': [terms[f]]} for f in FILTER_FACETS[:k]}))
               for k in range(4)]
    single, walks = {}, {}
    for entity, (sort, order) in ENTITIES.items():
        url = f'{base}/index/{entity}?catalog={CATALOG}&size={75 if entity == "projects" else 25}'
        for k in range(4):
            single[f'{entity}_f{k}'] = f'{url}&filters={filters[k]}'
        single[f'{entity}_sorted'] = f'{url}&sort={sort}&order={order}'
        if entity != 'projects' and depth:
            walks[f'{entity}_deep'] = url
    single['summary'] = f'{base}/index/summary?catalog={CATALOG}'
    single['summary_f2'] = f'{base}/index/summary?catalog={CATALOG}&filters={filters[2]}'
    return single, walks


def measure(args, base: str) -> None:
    single, walks = request_mix(base, args.depth)
    tasks = [(kind, url) for kind, url in single.items() for _ in range(args.requests)]
    # A walk is one task (its pages are sequential by nature) that records
    # only the pages after the first, the ones `search_after` makes deep
    walk_count = max(1, args.requests // args.depth)
    tasks += [(kind, url) for kind, url in walks.items() for _ in range(walk_count)]
    random.Random(0).shuffle(tasks)
    work: queue.SimpleQueue = queue.SimpleQueue()
    for task in tasks:
        work.put(task)
    results: list[tuple[str, float, int]] = []
    lock = threading.Lock()

    def client() -> None:
        own = []
        while True:
            try:
                kind, url = work.get_nowait()
            except queue.Empty:
                break
            if kind in walks:
                _, _, page = get(url)
                for _ in range(args.depth):
                    url = page and page['pagination'].get('next')
                    if not url:
                        break
                    elapsed, status, page = get(url)
                    own.append((kind, elapsed, status))
            else:
                elapsed, status, _ = get(url)
                own.append((kind, elapsed, status))
        with lock:
            results.extend(own)

    log(f'{len(tasks)} tasks over {args.clients} clients')
    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    common = {'backend': args.backend, 'bundles': args.bundles, 'clients': args.clients}

    def not_200(rows) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, _, status in rows:
            if status != 200:
                counts[str(status)] = counts.get(str(status), 0) + 1
        return counts

    for kind in (*single, *walks):
        rows = [r for r in results if r[0] == kind]
        emit({'measure': 'request', **common, 'kind': kind,
              **latency_stats([r[1] for r in rows]), 'not_200': not_200(rows)})
    totals = {e: (get(f'{base}/index/{e}?catalog={CATALOG}&size=1')[2] or {})
              .get('pagination', {}).get('total') for e in ENTITIES}
    emit({'measure': 'requests', **common, 'kind': 'all',
          **latency_stats([r[1] for r in results]), 'not_200': not_200(results),
          'wall_s': round(wall, 1), 'rps': round(len(results) / wall, 1),
          'hits': totals, 'load_avg': load_avg()})


def drop_indices(endpoint: str, prefix: str) -> None:
    """Delete this run's indices by name (clusters may refuse wildcard deletes)."""
    with urllib.request.urlopen(f'{endpoint}/_cat/indices/{prefix}_*?h=index&format=json') as r:
        names = [row['index'] for row in json.loads(r.read())]
    for i in range(0, len(names), 50):
        request = urllib.request.Request(f'{endpoint}/{",".join(names[i:i + 50])}',
                                         method='DELETE')
        urllib.request.urlopen(request).read()
    log(f'deleted {len(names)} indices {prefix}_*')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--bundles', type=int, required=True)
    parser.add_argument('--backend', choices=('duckdb', 'opensearch'), required=True)
    parser.add_argument('--dir', type=Path, help='kept working directory (default: temporary)')
    parser.add_argument('--reuse', action='store_true',
                        help='reuse the synthetic catalog in --dir if it has --bundles bundles')
    parser.add_argument('--clients', type=int, default=8, help='concurrent HTTP clients')
    parser.add_argument('--requests', type=int, default=50, help='requests per kind')
    parser.add_argument('--depth', type=int, default=10, help='pages followed per deep walk')
    parser.add_argument('--keep', action='store_true', help='keep the OpenSearch indices')
    parser.add_argument('--reindex-timeout', type=float, default=0,
                        help='stop the reindex after this many seconds, and skip the requests')
    args = parser.parse_args(argv)
    args.es_endpoint = os.environ.get('AZUL_ES_ENDPOINT', '').rstrip('/')
    if args.backend == 'opensearch' and not args.es_endpoint:
        parser.error('--backend opensearch needs AZUL_ES_ENDPOINT')
    root = args.dir.resolve() if args.dir else Path(tempfile.mkdtemp(prefix='bench_scale_'))
    data_dir = root / args.backend
    data_dir.mkdir(parents=True, exist_ok=True)
    prefix = 'bs' + uuid.uuid4().hex[:8]
    # Bundle versions end in Z; stats.json and deletions.json do not
    env = child_env(args, data_dir, [f'file://{root / "bundles"}/*Z.json'], prefix)
    try:
        synth(args, root / 'bundles')
        if not reindex(args, env, data_dir):
            return
        proc, base = serve(env, data_dir)
        try:
            measure(args, base)
        finally:
            stop(proc)
    finally:
        if args.backend == 'opensearch' and not args.keep:
            drop_indices(args.es_endpoint, prefix)
        if not args.dir:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
