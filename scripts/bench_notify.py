"""
Notification to searchable, through the live path only (issue 16: <= 5 s p95
with the server idle, >= 50 bundles/s sustained): a synthetic catalog split
into a preloaded part (`azul reindex --source`, so the index is not empty and
new bundles fold into existing projects) and a live part that is posted to
`POST /{catalog}/add` of `azul serve` on a free loopback port.

Prints JSON lines only (`synth`, `preload`, `latency`, `throughput`), each
with the load average, since the machine may be shared:

* latency: one notification at a time at --rate per second, the previous one
  searchable before the next is posted (so the server is idle); each is timed
  from the POST until `GET /index/bundles/{uuid}` shows its version, polled
  every 50 ms.
* throughput: --bundles notifications posted by --clients threads as fast as
  they are accepted, then the time until the queues are drained and
  `/index/bundles` counts every bundle; with the CPU seconds of the server
  and of its worker's processes (`children`), in total and per bundle.

    AZUL_ES_ENDPOINT=http://127.0.0.1:9200 python scripts/bench_notify.py \\
        --bundles 500 --preload 1000 --backend opensearch --dir /tmp/notify
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# bench_scale's helpers: one way of starting `azul serve`, of emitting lines,
# of computing percentiles and of cleaning up a shared cluster
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scale as bs  # noqa: E402

# bench_scale's child environment and report parsing name its catalog
CATALOG = bs.CATALOG
POLL_S = 0.05


def log(message: str) -> None:
    print(f'bench_notify: {message}', file=sys.stderr, flush=True)


def synth(out: Path, total: int) -> None:
    """A catalog of at least `total` bundle uuids in `out`, reused if big enough."""
    stats_file = out / 'stats.json'
    if stats_file.exists() and json.loads(stats_file.read_text())['bundles'] >= total:
        bs.emit({'measure': 'synth', 'bundles': total, 'reused': True, 'load_avg': bs.load_avg()})
        return
    shutil.rmtree(out, ignore_errors=True)
    log(f'generating {total} bundles in {out}')
    start = time.perf_counter()
    subprocess.run(bs.azul('synth', '-q', '--bundles', str(total), '--out', str(out),
                           '--seed', '0'), check=True, stdout=sys.stderr)
    bs.emit({'measure': 'synth', 'bundles': total, 'reused': False,
             'seconds': round(time.perf_counter() - start, 1), 'load_avg': bs.load_avg()})


def split(synth_dir: Path, root: Path, sizes: list[int]) -> tuple[list[Path], list[list]]:
    """
    Hard-link the bundle files into a directory per part (preload, latency,
    throughput), each a source, so that the preload can index one alone. Only
    a uuid's newest version is used: an update of a preloaded bundle would be
    found (in its old version) too early, and not add to the count. Shuffled
    so that new bundles join existing projects, as they mostly do live.
    """
    newest: dict[str, str] = {}
    for path in sorted(synth_dir.glob('*Z.json')):
        bundle_uuid, _, version = path.name[:-len('.json')].partition('.')
        newest[bundle_uuid] = max(version, newest.get(bundle_uuid, ''))
    fqids = sorted(newest.items())
    random.Random(0).shuffle(fqids)
    dirs, parts, offset = [], [], 0
    for name, size in zip(('preload', 'latency', 'throughput'), sizes, strict=True):
        part_dir = root / name
        shutil.rmtree(part_dir, ignore_errors=True)
        part_dir.mkdir(parents=True)
        part = fqids[offset:offset + size]
        offset += size
        for bundle_uuid, version in part:
            file_name = f'{bundle_uuid}.{version}.json'
            os.link(synth_dir / file_name, part_dir / file_name)
        dirs.append(part_dir)
        parts.append(part)
    return dirs, parts


def preload(env: dict[str, str], data_dir: Path, spec: str, count: int) -> None:
    log(f'preloading {count} bundles with azul reindex')
    start_load = bs.load_avg()
    start = time.perf_counter()
    with open(data_dir / 'reindex.log', 'w') as err:
        done = subprocess.run(bs.azul('reindex', '-q', '--catalog', CATALOG, '--source', spec),
                              env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    if done.returncode:
        sys.exit(f'azul reindex failed with {done.returncode}; see {data_dir / "reindex.log"}')
    wall = time.perf_counter() - start
    bs.emit({'measure': 'preload', 'bundles': count, **bs.parse_report(done.stdout),
             'wall_s': round(wall, 1), 'bundles_per_s': round(count / wall, 1),
             'load_avg_start': start_load, 'load_avg': bs.load_avg()})


def _stat(pid: int | str) -> list[str]:
    # The fields after the command, which may hold spaces and parentheses
    return Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()


def cpu_s(pid: int) -> float:
    # On a loaded machine the CPU cost per bundle says more than wall time
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def children_cpu_s(pid: int) -> float:
    """
    CPU seconds of the server's child processes (its worker's pool): of those
    alive, and of those it has waited for (a pool replaced after a crash).
    """
    ticks = sum(int(f) for f in _stat(pid)[13:15])
    for entry in Path('/proc').iterdir():
        if entry.name.isdigit():
            try:
                fields = _stat(entry.name)
            except OSError:
                continue  # gone meanwhile
            if int(fields[1]) == pid:
                ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf('SC_CLK_TCK')


def node_cpu_s(args) -> float | None:
    """CPU seconds of the OpenSearch node so far, which the server's exclude."""
    if args.backend != 'opensearch':
        return None
    with urllib.request.urlopen(f'{args.es_endpoint}/_nodes/_local/stats/process') as r:
        nodes = json.loads(r.read())['nodes'].values()
    return sum(n['process']['cpu']['total_in_millis'] for n in nodes) / 1000


def meter(args, pid: int):
    """A function of the load average and CPU seconds since this call."""
    load, cpu, node = bs.load_avg(), cpu_s(pid), node_cpu_s(args)
    children = children_cpu_s(pid)

    def since() -> dict:
        # The node may be shared: its CPU includes other clients' work
        return {'server_cpu_s': round(cpu_s(pid) - cpu, 1),
                'children_cpu_s': round(children_cpu_s(pid) - children, 1),
                'node_cpu_s': node and round(node_cpu_s(args) - node, 1),
                'load_avg_start': load, 'load_avg': bs.load_avg()}
    return since


def post(base: str, spec: str, bundle_uuid: str, version: str) -> int:
    """The status of one notification (0: no answer)."""
    body = {'bundle_fqid': {'uuid': bundle_uuid, 'version': version, 'source': {'spec': spec}}}
    # application/json is required: unsigned notifications of a simple
    # content type (what a web page could send) are refused with 415
    request = urllib.request.Request(f'{base}/{CATALOG}/add', method='POST',
                                     data=json.dumps(body).encode(),
                                     headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as e:
        e.read()
        return e.code
    except OSError:
        return 0


def searchable(base: str, bundle_uuid: str, version: str) -> tuple[bool, float]:
    """Whether the bundle is found, and how long the request took."""
    # The bundles entity's id is the bundle uuid; the version is checked too,
    # so that a stale hit of an older version never counts
    took, status, hit = bs.get(f'{base}/index/bundles/{bundle_uuid}?catalog={CATALOG}')
    return status == 200 and any(b.get('bundleVersion') == version
                                 for b in hit.get('bundles', ())), took


def measure_latency(args, pid: int, base: str, spec: str, part: list) -> None:
    log(f'latency: {len(part)} notifications at {args.rate}/s')
    since = meter(args, pid)
    latencies, accepts, polls, statuses, timeouts = [], [], [], Counter(), 0
    start = time.monotonic()
    for i, (bundle_uuid, version) in enumerate(part):
        # On schedule, unless the previous one took longer: then at once,
        # which still leaves the server idle, since that one is searchable
        time.sleep(max(0.0, start + i / args.rate - time.monotonic()))
        t0 = time.perf_counter()
        status = post(base, spec, bundle_uuid, version)
        accepts.append(time.perf_counter() - t0)
        statuses[str(status)] += 1
        if status != 202:
            continue
        while True:
            found, took = searchable(base, bundle_uuid, version)
            polls.append(took)
            if found:
                latencies.append(time.perf_counter() - t0)
                break
            if time.perf_counter() - t0 > args.timeout:
                timeouts += 1
                break
            time.sleep(POLL_S)
    stats = bs.latency_stats(latencies)
    bs.emit({'measure': 'latency', 'backend': args.backend, 'preloaded': args.preload,
             'rate': args.rate, 'poll_ms': POLL_S * 1000, **stats,
             # The POST's own answer, and the cost of a poll (which competes
             # with the worker for the server's CPU)
             'accept': bs.latency_stats(accepts), 'poll': bs.latency_stats(polls),
             'statuses': statuses, 'timeouts': timeouts,
             'target_p95_ms': 5000,
             'met': stats['p95_ms'] is not None and stats['p95_ms'] <= 5000 and not timeouts,
             **since()})


def measure_throughput(args, pid: int, base: str, spec: str, part: list,
                       expected: int) -> None:
    log(f'throughput: {len(part)} notifications over {args.clients} clients')
    since = meter(args, pid)

    def notify(fqid: tuple[str, str]) -> str:
        # A refusal for load (503: too many connections; 0: none) is retried,
        # since the rate the server accepts is what is measured
        for attempt in range(10):
            status = post(base, spec, *fqid)
            if status not in (0, 503):
                break
            time.sleep(0.1 * 2 ** attempt)
        return str(status)

    start = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        statuses = Counter(pool.map(notify, part))
    posted = time.perf_counter() - start
    log(f'posted in {posted:.1f} s; waiting for the index to count {expected} bundles')
    # Only the queues (a count in SQLite) are polled until they are empty:
    # a search with facets costs the server CPU the worker would otherwise use
    drained_since, next_log, total = None, 5.0, None
    while True:
        _, _, health = bs.get(f'{base}/health/queues')
        queues = {k: v for k, v in ((health or {}).get('queues') or {}).items() if k != 'up'}
        elapsed = time.perf_counter() - start
        queued = sum(q.get('queued', 0) for q in queues.values())
        if queues and queued == 0:
            _, _, page = bs.get(f'{base}/index/bundles?catalog={CATALOG}&size=1')
            total = (page or {}).get('pagination', {}).get('total')
            if total == expected:
                elapsed = time.perf_counter() - start
                break
            # OpenSearch shows writes after its refresh; failed messages never show
            drained_since = drained_since or elapsed
        else:
            drained_since = None
        if elapsed >= next_log:
            next_log += 5
            log(f'{elapsed:.0f} s: queues {queues}')
        if elapsed > args.timeout or (drained_since and elapsed - drained_since > 10):
            log(f'gave up: {total} of {expected} bundles, queues {queues}')
            break
        time.sleep(0.25)
    done = total == expected
    cpu = since()
    per_bundle = {f'{k[:-len("_s")]}_ms_per_bundle': round(v * 1000 / len(part), 1)
                  for k, v in cpu.items() if k.endswith('cpu_s') and v is not None}
    bs.emit({'measure': 'throughput', 'backend': args.backend, 'preloaded': args.preload,
             'bundles': len(part), 'clients': args.clients, 'processes': args.processes,
             'statuses': statuses,
             'post_s': round(posted, 2), 'accepted_per_s': round(len(part) / posted, 1),
             'searchable_s': round(elapsed, 2),
             'bundles_per_s': round(len(part) / elapsed, 1) if done else None,
             'index_total': total, 'expected_total': expected, 'complete': done,
             'failed': {k: q.get('failed', 0) for k, q in queues.items()},
             'target_per_s': 50, 'met': done and len(part) / elapsed >= 50,
             **cpu, **per_bundle})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--bundles', type=int, required=True,
                        help='notifications of the throughput phase')
    parser.add_argument('--preload', type=int, default=0, help='bundles indexed beforehand')
    parser.add_argument('--backend', choices=('duckdb', 'opensearch'), default='duckdb')
    parser.add_argument('--rate', type=float, default=0.5,
                        help='notifications per second of the latency phase')
    parser.add_argument('--latency-count', type=int, default=30,
                        help='notifications of the latency phase')
    parser.add_argument('--clients', type=int, default=4, help='posting threads')
    parser.add_argument('--processes', type=int,
                        help="AZUL_INDEXER_PROCESSES of the server (default: the server's, "
                             'one per core); 1: its worker transforms and folds in-process')
    parser.add_argument('--timeout', type=float, default=600,
                        help='seconds to wait for bundles to become searchable')
    parser.add_argument('--dir', type=Path,
                        help='kept working directory, its synthetic catalog reused '
                             '(default: temporary)')
    args = parser.parse_args(argv)
    args.es_endpoint = os.environ.get('AZUL_ES_ENDPOINT', '').rstrip('/')
    if args.backend == 'opensearch' and not args.es_endpoint.startswith(
            ('http://127.0.0.1:', 'http://localhost:', 'http://[::1]:')):
        parser.error('--backend opensearch needs AZUL_ES_ENDPOINT on loopback '
                     '(http://127.0.0.1:PORT)')
    root = args.dir.resolve() if args.dir else Path(tempfile.mkdtemp(prefix='bench_notify_'))
    data_dir = root / args.backend
    # Every run starts from an empty index and queue
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    prefix = 'bn' + uuid.uuid4().hex[:8]
    sizes = [args.preload, args.latency_count, args.bundles]
    try:
        synth(root / 'synth', sum(sizes))
        dirs, parts = split(root / 'synth', root / 'parts', sizes)
        specs = [f'file://{d}/*Z.json' for d in dirs]
        env = bs.child_env(args, data_dir, specs, prefix)
        if args.processes:
            env['AZUL_INDEXER_PROCESSES'] = str(args.processes)
        if args.preload:
            preload(env, data_dir, specs[0], args.preload)
        proc, base = bs.serve(env, data_dir)
        try:
            measure_latency(args, proc.pid, base, specs[1], parts[1])
            measure_throughput(args, proc.pid, base, specs[2], parts[2], sum(sizes))
        finally:
            bs.stop(proc)
    finally:
        if args.backend == 'opensearch':
            bs.drop_indices(args.es_endpoint, prefix)
        if not args.dir:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
