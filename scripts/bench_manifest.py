"""
Time a compact manifest of a large catalog (issue 11: 500,000 file rows in at
most 2 minutes and 512 MB peak RSS on this 2-core machine). Prints one JSON
line per measurement:

  {"backend": "duckdb", "files": 500000, "measure": "load", "seconds": ..}
  {"backend": "duckdb", "files": 500000, "measure": "manifest", "wall_s": .., "cpu_s": ..,
   "rows": .., "bytes": .., "max_rss_mb": .., "load_avg": [..]}

The catalog: the HCA fixture bundles of the HTTP tests (test/http/conftest.py,
50 DSS bundles and one TDR bundle, real HCA metadata) are indexed into a fresh
deployment by the indexer, as the tests do. That gives 1,279 real `files`
aggregates: small ones of single-cell projects, ones of big projects with
dozens of cell suspensions, donors and specimens, files with zarr parts
(`related_files`), nulls in many fields, up to 200 KB of JSON each (7.7 KB on
average). These templates are then replicated, round-robin in random order,
until the catalog holds `--files` file aggregates: each copy gets a fresh
entity id (which is also its document id), a fresh file uuid and a distinct
file name (a copy number before the name), and is written as the indexer
writes aggregates (`IndexedAggregate(aggregate, registry.extract(...))`, see
`Indexer._aggregate_once`) through `backend.write_aggregates` in batches.
The manifest thus reads, decodes and formats documents whose shape and size
are those of real HCA file aggregates, in the proportions of the fixture
catalog; only the ids and names repeat less than they would in a real
catalog, which the manifest does not depend on.

A file aggregate makes one row, and one more per related file: the
manifest of N aggregates has about 1.25 N rows (four of the fixture files
are zarr stores of about 80 parts each), so `--files 500000` writes 623,947
rows.

Load time (the indexing of the fixtures plus the replication) is reported
apart. The manifest of the whole catalog (no filters) is then written by a
fresh child process (`manifest_context` and `write_manifest`, as the
preparation job and `azul manifest` write it) into a temporary file: its
wall time (from the context to the last byte, without interpreter start),
its CPU time (user + system of the whole child, from `os.wait4`) and its
peak RSS (VmHWM, not `ru_maxrss`, which includes the parent's RSS at fork
time) are the generation's own.

  python scripts/bench_manifest.py --files 500000 --backends duckdb,opensearch

`--files 20000` makes a quick run. `--data-dir DIR --deployment NAME --keep`
keep a loaded catalog; a later run with the same options and `--files`
measures the manifest without loading again. `--profile FILE` writes a
pyinstrument profile (HTML) of the child's manifest generation.

OpenSearch: AZUL_ES_ENDPOINT (the shared node of this machine).
"""
import argparse
import csv
import gc
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / 'test' / 'http'), str(ROOT / 'test')]

from azul.backends.base import AggregateWrite  # noqa: E402
from azul.core.documents import Aggregate, IndexedAggregate  # noqa: E402
from azul.core.filters import Filters  # noqa: E402
from azul.indexer.index import Indexer  # noqa: E402
from azul.runtime import Runtime  # noqa: E402
from conftest import CATALOG, SOURCES, catalog_spec, make_config  # noqa: E402

ENTITY_TYPE = 'files'
SERVICE_URL = 'https://service.azul.example'


def runtime_of(kind: str, data_dir: Path, deployment: str) -> Runtime:
    catalogs = {CATALOG: catalog_spec(list(SOURCES))}
    return Runtime(make_config(kind, data_dir, deployment, service_url=SERVICE_URL,
                               catalogs=catalogs, extra_env={'AZUL_LOG_LEVEL': 'ERROR'}))


def emit(kind: str, files: int, measure: str, **values) -> None:
    print(json.dumps({'backend': kind, 'files': files, 'measure': measure, **values}),
          flush=True)


# Loading

def load(runtime: Runtime, count: int, batch_size: int) -> dict:
    backend = runtime.backend
    registry = runtime.metadata_plugin(CATALOG).field_registry
    start = time.perf_counter()
    indexer = Indexer(runtime)
    # The big fixture projects exceed the 100 values kept per field, once per bundle
    logging.getLogger('azul.core.aggregation').setLevel(logging.ERROR)
    indexer.create_indices(CATALOG, delete=True)
    for source in SOURCES:
        listing = runtime.repository_plugin(CATALOG).list_bundles(source)
        assert listing.bundles and not listing.problems, listing.problems
        indexer.index_bundles(CATALOG, source, listing.bundles)
    fixtures = time.perf_counter() - start
    templates = list(backend.scan(CATALOG, ENTITY_TYPE, Filters()))
    assert templates and len(templates) <= count, (len(templates), count)
    encoded = [orjson.dumps(t) for t in templates]
    # A batch of replicas is millions of objects without cycles: the cyclic
    # collector would traverse them over and over
    gc.disable()
    try:
        written, write_time = replicate(backend, registry, templates, count, batch_size)
    finally:
        gc.enable()
    replicas = written - len(templates)
    assert backend.count(CATALOG, ENTITY_TYPE) == count, backend.count(CATALOG, ENTITY_TYPE)
    return {'seconds': round(time.perf_counter() - start, 1),
            'fixtures_s': round(fixtures, 1), 'write_aggregates_s': round(write_time, 1),
            'templates': len(templates), 'replicas': replicas,
            'json_mb': round(sum(map(len, encoded)) * count / len(encoded) / 2 ** 20)}


def replicate(backend, registry, templates: list[dict], count: int, batch_size: int
              ) -> tuple[int, float]:
    encoded = [orjson.dumps(t) for t in templates]
    projections = [registry.extract(t) for t in templates]
    rng = random.Random(11)
    written = len(templates)
    copy = 0
    write_time = 0.0
    while written < count:
        copy += 1
        order = list(range(len(templates)))
        rng.shuffle(order)
        batch = []
        for i in order[:count - written]:
            batch.append(replica(templates[i], encoded[i], projections[i], copy, rng,
                                     check=copy == 1, registry=registry))
            if len(batch) == batch_size:
                write_time += write(backend, batch)
                batch = []
        if batch:
            write_time += write(backend, batch)
        written += min(len(order), count - written)
    return written, write_time


def replica(template: dict, encoded: bytes, fields: dict, copy: int, rng: random.Random,
            check: bool = False, registry=None) -> IndexedAggregate:
    """
    The template with a fresh entity id, file uuid and file name wherever they
    occur as a whole JSON string. Its projection onto the registry's fields is
    the template's with the same strings replaced (`check` verifies that
    against `registry.extract`, which costs more than the rest together).
    """
    (file,) = template['contents']['files']
    entity_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    file_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    name = file['name']
    new = {template['entity_id']: entity_id, file['uuid']: file_uuid,
           name: f'{copy:06d}-{name}'}
    text = encoded
    for old, value in new.items():
        text = text.replace(orjson.dumps(old), orjson.dumps(value))
    document = orjson.loads(text)
    aggregate = Aggregate.from_json(ENTITY_TYPE, document)
    projection = dict(fields)
    for field in _patched(template, fields):
        projection[field] = tuple(new.get(v, v) if v.__class__ is str else v
                                  for v in fields[field])
    if check:
        assert projection == registry.extract(document), template['entity_id']
    return IndexedAggregate(aggregate, projection)


_patched_fields: dict[str, list[str]] = {}


def _patched(template: dict, fields: dict) -> list[str]:
    """The fields of the template's projection that hold its ids or file name."""
    entity_id = template['entity_id']
    result = _patched_fields.get(entity_id)
    if result is None:
        (file,) = template['contents']['files']
        old = {entity_id, file['uuid'], file['name']}
        result = [field for field, values in fields.items() if not old.isdisjoint(values)]
        _patched_fields[entity_id] = result
    return result


def write(backend, batch: list[IndexedAggregate]) -> float:
    writes = [AggregateWrite(d.entity_id, d, None) for d in batch]
    start = time.perf_counter()
    conflicts = backend.write_aggregates(CATALOG, ENTITY_TYPE, writes)
    assert not conflicts, conflicts[:3]
    return time.perf_counter() - start


# Generation, in a child process

def child(kind: str, data_dir: Path, deployment: str, out: Path, profile: str | None) -> None:
    from azul.manifests.generate import manifest_context, write_manifest
    runtime = runtime_of(kind, data_dir, deployment)
    profiler = None
    if profile:
        from pyinstrument import Profiler
        profiler = Profiler()
        profiler.start()
    start, start_cpu = time.perf_counter(), time.process_time()
    context = manifest_context(runtime, CATALOG, {}, SERVICE_URL)
    with open(out, 'wb') as output:
        name = write_manifest(context, 'compact', output)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    if profiler is not None:
        profiler.stop()
        Path(profile).write_text(profiler.output_html())
    runtime.close()
    print(json.dumps({'wall_s': wall, 'cpu_s': cpu, 'name': name, 'hwm_kb': peak_rss_kb()}),
          flush=True)


def peak_rss_kb() -> int:
    """
    This process's peak RSS since it was exec'd. Not `ru_maxrss`: Linux
    carries the RSS of the forking parent over into the child's (and into
    `RUSAGE_CHILDREN`), so a child of a loaded parent would report at least
    the parent's RSS.
    """
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    raise RuntimeError('No VmHWM in /proc/self/status')


def generate(kind: str, count: int, data_dir: Path, deployment: str,
             profile: str | None) -> None:
    out = data_dir / f'manifest-{kind}.tsv'
    command = [sys.executable, __file__, '--child', kind, str(data_dir), deployment, str(out)]
    if profile:
        command.append(profile)
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    stdout = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f'The manifest child failed with {process.returncode}')
    own = json.loads(stdout.decode().strip().splitlines()[-1])
    rows = count_rows(out)
    size = out.stat().st_size
    out.unlink()
    emit(kind, count, 'manifest',
         wall_s=round(own['wall_s'], 1),
         cpu_s=round(usage.ru_utime + usage.ru_stime, 1),
         child_wall_s=round(wall, 1),
         rows=rows, bytes=size,
         rows_per_s=round(rows / own['wall_s']),
         max_rss_mb=round(own['hwm_kb'] / 1024, 1),
         load_avg=[round(x, 2) for x in os.getloadavg()])


def count_rows(path: Path) -> int:
    """The rows of a TSV file, less the header: its lines, unless a field is quoted."""
    lines, quoted = 0, False
    with open(path, 'rb') as f:
        while chunk := f.read(1 << 24):
            lines += chunk.count(b'\n')
            quoted = quoted or b'"' in chunk
    if quoted:
        with open(path, newline='', encoding='utf-8') as f:
            lines = sum(1 for _ in csv.reader(f, dialect='excel-tab'))
    return lines - 1


def main() -> None:
    if sys.argv[1:2] == ['--child']:
        kind, data_dir, deployment, out, *profile = sys.argv[2:]
        child(kind, Path(data_dir), deployment, Path(out), profile[0] if profile else None)
        return
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--files', type=int, default=500_000,
                        help='file aggregates in the catalog (default 500,000)')
    parser.add_argument('--backends', default='duckdb,opensearch')
    parser.add_argument('--batch', type=int, default=5000, help='aggregates per write')
    parser.add_argument('--data-dir', type=Path,
                        help='where the DuckDB file and the manifest go (default: temporary)')
    parser.add_argument('--deployment', help='deployment name (default: a fresh one)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the loaded catalog; reuse it if it holds --files files')
    parser.add_argument('--profile', help='write a pyinstrument HTML profile of the '
                                          'generation to this file (suffixed by backend)')
    args = parser.parse_args()
    if args.keep and not (args.data_dir and args.deployment):
        parser.error('--keep needs --data-dir and --deployment')
    emit('-', args.files, 'start', load_avg=[round(x, 2) for x in os.getloadavg()])
    for kind in args.backends.split(','):
        data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix='bench-manifest-'))
        data_dir.mkdir(parents=True, exist_ok=True)
        deployment = args.deployment or 'bm' + uuid.uuid4().hex[:8]
        runtime = runtime_of(kind, data_dir, deployment)
        try:
            loaded = runtime.backend.count(CATALOG, ENTITY_TYPE) if args.keep else 0
            if loaded == args.files:
                emit(kind, args.files, 'load', reused=True)
            else:
                emit(kind, args.files, 'load', **load(runtime, args.files, args.batch),
                     load_avg=[round(x, 2) for x in os.getloadavg()])
            # The child opens the catalog itself: DuckDB allows one writing process
            runtime.close()
            profile = f'{args.profile}.{kind}.html' if args.profile else None
            generate(kind, args.files, data_dir, deployment, profile)
        finally:
            if not args.keep:
                runtime = runtime_of(kind, data_dir, deployment)
                runtime.backend.drop_deployment()
                runtime.close()
                if args.data_dir is None:
                    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == '__main__':
    main()
