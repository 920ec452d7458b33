"""
Load synthetic file aggregates into each backend and time the service's hot
queries. Prints one JSON line per measurement:

  {"backend": "duckdb", "docs": 100000, "measure": "load", "seconds": 12.3}
  {"backend": "duckdb", "docs": 100000, "measure": "page_all_facets", "p50_ms": .., "p95_ms": ..}

Measures, the requests a data portal sends (pages of 25 with every facet):
`page_all_facets` (no filter, the default sort), `page_filtered` (three
filters), `page_sorted` (no filter, by a numeric field, descending),
`page_deep` and `page_filtered_deep` (the 11th page, by `search_after`),
`page_previous` (the 10th page, back by `search_before` from the 11th),
`summary` and `summary_filtered` (counts, sums, cardinalities and grouped sums
of /index/summary, without and with the three filters). Load time counts the
time spent in the backend's `write_aggregates` only, not generating the
documents (OpenSearch: the whole load's wall time, see `load_overlapped`).
Each measure's first call is timed apart (`first_ms`): it finds the deep
pages' cursors and warms caches, and on DuckDB a filtered one starts the
build of the version's term bitmaps, which the SQL path stands in for
meanwhile; the repetitions wait for that build (`settle`) and so measure
the steady state.

  python scripts/bench_backends.py --docs 100000 --backends duckdb,opensearch --repeat 30

`--dump FILE` writes every measure's answer to FILE as JSON (a file per
backend, suffixed with its name), so that two versions of the code can be
compared on the same data with `diff`. `--threads N` sets DuckDB's threads
(CPU per request measured with one thread is the work, whatever the load).

OpenSearch: AZUL_ES_ENDPOINT, or else a node started from scripts/opensearch/node.py.
"""
import argparse
import importlib.util
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs

from azul import collector
from azul.backends.base import AggregateWrite, SearchBackend
from azul.core.fields import FieldRegistry
from azul.core.filters import Filters
from azul.core.search import SearchRequest, Sort
from azul_dev import benchdata

ROOT = Path(__file__).resolve().parents[1]
CATALOG = 'bench'


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--docs', type=int, default=100_000)
    parser.add_argument('--backends', default='duckdb')
    parser.add_argument('--repeat', type=int, default=30)
    parser.add_argument('--batch', type=int, default=5000, help='documents per write')
    parser.add_argument('--duckdb-path', type=Path,
                        help='database file (default: a temporary directory)')
    parser.add_argument('--reuse', action='store_true',
                        help='keep the DuckDB file and the OpenSearch indices and, if they '
                             'already hold --docs documents, measure the queries without '
                             'loading again')
    parser.add_argument('--deployment', default='bench',
                        help='the deployment a reused load is kept under (OpenSearch indices '
                             'are named after it, on a node others may share)')
    parser.add_argument('--measures', help='comma-separated measures to run (default: all)')
    parser.add_argument('--request-cache', action='store_true',
                        help="let OpenSearch answer a repeated page's counts and summary from "
                             "its shard request cache and from the backend's own cache of "
                             'counts and summaries per content version, and DuckDB a '
                             'repeated summary, and a filtered page\'s total and facets, from '
                             'its caches per content version (by default the benchmark turns '
                             'these off)')
    parser.add_argument('--dump', type=Path,
                        help="write each measure's answer as JSON to this file (suffixed with "
                             'the backend) before measuring')
    parser.add_argument('--threads', type=int, help="DuckDB's threads (default: DuckDB's)")
    args = parser.parse_args(argv)
    kinds = args.backends.split(',')
    if args.reuse and 'duckdb' in kinds and args.duckdb_path is None:
        parser.error('--reuse needs --duckdb-path')
    for kind in kinds:
        with backend_of(kind, args.duckdb_path, args.reuse, args.request_cache,
                        args.deployment) as backend:
            if args.threads is not None and kind == 'duckdb':
                # A setting of the database instance, whichever cursor sets it
                backend._cursor().execute(f'SET threads = {int(args.threads)}')
            dump = None if args.dump is None else args.dump.with_name(
                f'{args.dump.stem}.{kind}{args.dump.suffix}')
            run(kind, backend, args.docs, args.repeat, args.batch,
                args.measures.split(',') if args.measures else None, dump)


class backend_of:
    """A fresh deployment of the backend, dropped afterwards unless reused."""

    def __init__(self, kind: str, duckdb_path: Path | None, reuse: bool = False,
                 request_cache: bool = False, deployment: str = 'bench'):
        self.kind = kind
        self.deployment = deployment
        self.request_cache = request_cache
        self.duckdb_path = duckdb_path
        self.reuse = reuse
        self.node = None
        self.tmp = None
        self.backend: SearchBackend | None = None

    def __enter__(self) -> SearchBackend:
        # A reused file keeps one fixed deployment, so a later run finds the loaded rows
        deployment = self.deployment if self.reuse else 'bench' + uuid.uuid4().hex[:8]
        if self.kind == 'duckdb':
            from azul.backends.duckdb import DuckDBBackend
            path = self.duckdb_path
            if path is None:
                self.tmp = tempfile.TemporaryDirectory()
                path = Path(self.tmp.name) / 'bench.duckdb'
            # Uncached by default, as OpenSearch: every repetition computes its summary
            self.backend = DuckDBBackend(path=path, prefix='azul', deployment=deployment,
                                         result_cache=self.request_cache)
        elif self.kind == 'opensearch':
            from azul.backends.opensearch import OpenSearchBackend
            endpoint = os.environ.get('AZUL_ES_ENDPOINT')
            if not endpoint:
                self.node = _node_module().OpenSearchNode()
                self.node.start()
                endpoint = self.node.url
            # Uncached by default: every repetition counts again, as DuckDB does
            self.backend = OpenSearchBackend(endpoint=endpoint, prefix='azul',
                                             deployment=deployment,
                                             request_cache=None if self.request_cache else False)
        else:
            raise SystemExit(f'Unknown backend {self.kind!r}')
        return self.backend

    def __exit__(self, *exc) -> None:
        try:
            if self.backend is not None:
                if not self.reuse:
                    self.backend.drop_deployment()
                self.backend.close()
        finally:
            if self.node is not None:
                self.node.stop()
            if self.tmp is not None:
                self.tmp.cleanup()


def _node_module():
    path = ROOT / 'scripts' / 'opensearch' / 'node.py'
    spec = importlib.util.spec_from_file_location('azul_opensearch_node', path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _batches(docs: Iterator, size: int) -> Iterator[list]:
    while batch := list(itertools.islice(docs, size)):
        yield batch


def run(kind: str, backend: SearchBackend, count: int, repeat: int, batch_size: int,
        only: list[str] | None = None, dump: Path | None = None) -> None:
    registry = benchdata.registry()
    loaded = backend.count(CATALOG, benchdata.ENTITY_TYPE)
    if loaded == count:
        emit(kind, count, 'load', reused=True)
    else:
        if loaded:
            # A partial or different load: start over
            backend.delete_indices(CATALOG)
        (load_overlapped if kind == 'opensearch' else load)(kind, backend, registry, count,
                                                             batch_size)

    measures = portal_mix(backend, registry)
    unknown = set(only or ()) - set(measures)
    if unknown:
        raise SystemExit(f'Unknown measures {sorted(unknown)}')
    # As `azul serve` does once started: what the process holds is left out
    # of the collector's passes, which would otherwise walk it in a request
    collector.freeze_held()
    answers = {}
    for measure, call in measures.items():
        if only is not None and measure not in only:
            continue
        # The first call finds the deep pages' cursors, warms caches and code
        # paths, and may start background work: timed apart, as `first_ms`
        answer, first_ms = timed(call)
        answers[measure] = plain(answer)
        settle(backend)
        if dump is not None:
            dump.write_text(json.dumps(answers, indent=1, sort_keys=True))
        times, cpu = [], []
        for _ in range(repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            call()
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        # CPU time of this process, all threads: on a busy machine a steadier measure of the
        # work an embedded backend does than wall time; for OpenSearch only the client's share
        emit(kind, count, measure, p50_ms=round(statistics.median(times), 1),
             p95_ms=round(percentile(times, 95), 1),
             cpu_p50_ms=round(statistics.median(cpu), 1),
             cpu_p95_ms=round(percentile(cpu, 95), 1), first_ms=round(first_ms, 1),
             load_avg=os.getloadavg()[0])


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    """The call's answer and its wall time in milliseconds."""
    start = time.perf_counter()
    answer = call()
    return answer, (time.perf_counter() - start) * 1000


def settle(backend: SearchBackend) -> None:
    """
    Wait for the background work a request started: DuckDB builds a content
    version's term bitmaps and sort orders after its first filtered search
    (`bitmap_store`), which the SQL path answers meanwhile. Waiting makes
    the repetitions measure the steady state instead of a mix of both paths
    that depends on the build's speed; the first call is reported apart.
    """
    store = getattr(backend, '_bitmaps', None)
    if store is not None:
        store.wait()


def plain(answer: Any) -> Any:
    """An answer as JSON can hold it, mappings as pairs in a fixed order, floats exact."""
    if attrs.has(type(answer)):
        return {f.name: plain(getattr(answer, f.name)) for f in attrs.fields(type(answer))}
    if isinstance(answer, Mapping):
        return sorted([repr(k), plain(v)] for k, v in answer.items())
    if isinstance(answer, list | tuple):
        return [plain(v) for v in answer]
    if isinstance(answer, float):
        return repr(answer)
    return answer


PAGE = 25
# Pages a user reads before the deep page's request
DEPTH = 10


def portal_mix(backend: SearchBackend, registry: FieldRegistry) -> dict[str, Callable[[], object]]:
    """Measure name -> a call making the request; cursors are found lazily, once."""

    def request(filters: Filters, sort: Sort, **cursor) -> SearchRequest:
        return SearchRequest(entity_type=benchdata.ENTITY_TYPE, filters=filters, sort=sort,
                             size=PAGE, facets=registry.facets, **cursor)

    def page(filters: Filters, sort: Sort = Sort(registry['fileName'])) -> Callable[[], object]:
        return lambda: backend.search(CATALOG, request(filters, sort))

    def deep(filters: Filters, back: bool = False) -> Callable[[], object]:
        sort = Sort(registry['fileName'])
        found: list[SearchRequest] = []

        def call():
            if not found:
                # Page forward as the portal does: each cursor is the last hit of the page
                cursor, hits = None, ()
                for _ in range(DEPTH):
                    hits = backend.search(CATALOG, request(filters, sort,
                                                           search_after=cursor)).hits
                    cursor = hits[-1].sort
                # `cursor` ends the 10th page; back from the 11th page's first hit is the 10th
                if back:
                    first = backend.search(CATALOG, request(filters, sort,
                                                            search_after=cursor)).hits[0]
                    found.append(request(filters, sort, search_before=first.sort))
                else:
                    found.append(request(filters, sort, search_after=cursor))
            return backend.search(CATALOG, found[0])

        return call

    filters = benchdata.filtered(registry)
    return {
        'page_all_facets': page(Filters()),
        'page_filtered': page(filters),
        'page_one_filter': page(benchdata.one_filter(registry)),
        'page_sorted': page(Filters(), Sort(registry['fileSize'], 'desc')),
        'page_deep': deep(Filters()),
        'page_filtered_deep': deep(filters),
        'page_previous': deep(Filters(), back=True),
        'summary': lambda: backend.summary(CATALOG, benchdata.summary_request(registry)),
        'summary_filtered': lambda: backend.summary(
            CATALOG, benchdata.summary_request(registry, filters)),
    }


def load(kind: str, backend: SearchBackend, registry: FieldRegistry, count: int,
         batch_size: int) -> None:
    backend.create_indices(CATALOG, [benchdata.ENTITY_TYPE], registry)
    spent = 0.0
    # As a reindex would: OpenSearch refreshes once at the end, not per bulk request
    with backend.bulk_load(CATALOG):
        for batch in _batches(benchdata.generate(count), batch_size):
            writes = [AggregateWrite(d.entity_id, d, None) for d in batch]
            start = time.perf_counter()
            conflicts = backend.write_aggregates(CATALOG, benchdata.ENTITY_TYPE, writes)
            spent += time.perf_counter() - start
            assert not conflicts, conflicts[:3]
        start = time.perf_counter()
    spent += time.perf_counter() - start
    assert backend.count(CATALOG, benchdata.ENTITY_TYPE) == count
    emit(kind, count, 'load', seconds=round(spent, 2), load_avg=os.getloadavg()[0])


def load_overlapped(kind: str, backend: SearchBackend, registry: FieldRegistry, count: int,
                    batch_size: int) -> None:
    """
    As `load`, but a batch is written while the next one is generated, so
    that the node is kept busy: generating a document takes about as long as
    the node's indexing of it. `seconds` is the wall time of the whole load
    (generation included), `cpu_seconds` this process's CPU time and
    `node_cpu_seconds` the node's, from its process stats.
    """
    backend.create_indices(CATALOG, [benchdata.ENTITY_TYPE], registry)
    node_cpu = _node_cpu(backend)
    start, start_cpu = time.perf_counter(), time.process_time()

    def write(batch: list) -> None:
        writes = [AggregateWrite(d.entity_id, d, None) for d in batch]
        conflicts = backend.write_aggregates(CATALOG, benchdata.ENTITY_TYPE, writes)
        assert not conflicts, conflicts[:3]

    with backend.bulk_load(CATALOG), ThreadPoolExecutor(1) as writer:
        pending = None
        for batch in _batches(benchdata.generate(count), batch_size):
            if pending is not None:
                pending.result()
            pending = writer.submit(write, batch)
        if pending is not None:
            pending.result()
    seconds = time.perf_counter() - start
    assert backend.count(CATALOG, benchdata.ENTITY_TYPE) == count
    emit(kind, count, 'load', seconds=round(seconds, 2),
         cpu_seconds=round(time.process_time() - start_cpu, 2),
         node_cpu_seconds=round(_node_cpu(backend) - node_cpu, 2),
         load_avg=os.getloadavg()[0])


def _node_cpu(backend) -> float:
    """CPU seconds the OpenSearch node has used so far (one node)."""
    [node] = backend._reader.nodes.stats(metric='process')['nodes'].values()
    return node['process']['cpu']['total_in_millis'] / 1000


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def emit(kind: str, docs: int, measure: str, **values) -> None:
    print(json.dumps({'backend': kind, 'docs': docs, 'measure': measure, **values}), flush=True)


if __name__ == '__main__':
    main()
