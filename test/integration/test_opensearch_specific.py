"""
What only the OpenSearch backend has: index settings and strict mappings,
versions as (seq_no, primary_term), read-after-write, paging beyond one page,
field names with dots, no client retries on writes, and error translation for
an unreachable or unresponsive cluster. Semantics shared with DuckDB are in
the conformance tests.
"""
import base64
import contextlib
import json
import socket
import socketserver
import threading
import time
import uuid
from collections.abc import Iterator

import attrs
import pytest
from backend_data import CATALOG, ENTITY_TYPE, OTHER_ENTITY_TYPE, documents, registry
from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_errors

from azul.backends.base import AggregateWrite, index_name
from azul.backends.opensearch import OpenSearchBackend
from azul.backends.opensearch import backend as backend_module
from azul.core.documents import Aggregate, BundleFQID, Contribution, IndexedAggregate
from azul.core.fields import Field, FieldRegistry, FieldType
from azul.core.filters import Filters, Is
from azul.core.search import SearchRequest, Sort, reference_search
from azul.errors import AzulError, ServiceUnavailableError

pytestmark = pytest.mark.opensearch

REGISTRY = registry()


@pytest.fixture
def os_backend(es_endpoint) -> Iterator[OpenSearchBackend]:
    backend = OpenSearchBackend(es_endpoint, prefix='azul', deployment='t' + uuid.uuid4().hex[:10])
    try:
        yield backend
    finally:
        backend.drop_deployment()
        backend.close()


def _index(backend: OpenSearchBackend, entity_type: str = ENTITY_TYPE,
           aggregate: bool = True) -> str:
    return index_name(backend.prefix, backend.deployment, CATALOG, entity_type, aggregate)


def test_settings_and_strict_mappings(os_backend, raw):
    os_backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    for aggregate in (True, False):
        index = _index(os_backend, aggregate=aggregate)
        settings = raw.indices.get_settings(index=index)[index]['settings']['index']
        assert (settings['number_of_shards'], settings['number_of_replicas']) == ('1', '0')
        with pytest.raises(os_errors.RequestError, match='strict_dynamic_mapping'):
            raw.index(index=index, body={'unexpected': 1})
    index = _index(os_backend)
    with pytest.raises(os_errors.RequestError, match='strict_dynamic_mapping'):
        raw.index(index=index, body={'fields': {'notAField': 'x'}})


def test_writes_need_created_indices(os_backend, raw):
    doc = documents(1)[0]
    with pytest.raises(AzulError, match='create the indices'):
        os_backend.write_aggregates(CATALOG, ENTITY_TYPE,
                                    [AggregateWrite(doc.entity_id, doc, None)])
    # Nothing was created behind our back with dynamic mappings
    assert not raw.indices.exists(index=_index(os_backend))


def test_version_is_seq_no_and_primary_term(os_backend, raw):
    os_backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    doc = documents(1)[0]
    assert os_backend.write_aggregates(CATALOG, ENTITY_TYPE,
                                       [AggregateWrite(doc.entity_id, doc, None)]) == []
    [stored] = os_backend.read_aggregates(CATALOG, ENTITY_TYPE, [doc.entity_id]).values()
    raw_doc = raw.get(index=_index(os_backend), id=doc.entity_id)
    assert stored.version == (raw_doc['_seq_no'], raw_doc['_primary_term'])
    # Someone else's write in between makes our version stale
    raw.index(index=_index(os_backend), id=doc.entity_id, body=raw_doc['_source'])
    writes = [AggregateWrite(doc.entity_id, doc, stored.version)]
    assert os_backend.write_aggregates(CATALOG, ENTITY_TYPE, writes) == [doc.entity_id]


def test_read_after_write(os_backend):
    os_backend.create_indices(CATALOG, [ENTITY_TYPE, OTHER_ENTITY_TYPE], REGISTRY)
    docs = documents(10, seed=5)
    request = SearchRequest(ENTITY_TYPE, Filters(), Sort(REGISTRY['entryId']), size=50)
    for i, doc in enumerate(docs):
        bundle = BundleFQID(str(uuid.UUID(int=i)), '2021-01-01T00:00:00.000000Z')
        contribution = Contribution(ENTITY_TYPE, doc.entity_id, bundle, 'source-a', False,
                                    {'n': i})
        assert os_backend.write_contributions(CATALOG, [contribution]) == 1
        # No sleep: the indexer reads contributions right after writing them
        read = os_backend.read_contributions(CATALOG, ENTITY_TYPE, [doc.entity_id])
        assert read == {doc.entity_id: [contribution]}
        writes = [AggregateWrite(doc.entity_id, doc, None)]
        assert os_backend.write_aggregates(CATALOG, ENTITY_TYPE, writes) == []
        assert os_backend.search(CATALOG, request).total == i + 1


def _refresh_intervals(raw: OpenSearch, backend: OpenSearchBackend) -> dict[str, str | None]:
    """The explicit `refresh_interval` of each index of the catalog (None: the default)."""
    settings = raw.indices.get_settings(index=f'azul_{backend.deployment}_{CATALOG}_*')
    return {index: s['settings'].get('index', {}).get('refresh_interval')
            for index, s in settings.items()}


def _bulk_load_setup(backend: OpenSearchBackend, raw: OpenSearch) -> tuple[str, str]:
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    aggregates, contributions = _index(backend), _index(backend, aggregate=False)
    # An explicit value is restored as it was, the default stays the default
    raw.indices.put_settings(index=contributions, body={'index': {'refresh_interval': '5s'}})
    return aggregates, contributions


def _contribution(entity_id: str) -> Contribution:
    bundle = BundleFQID(str(uuid.UUID(int=1)), '2021-01-01T00:00:00.000000Z')
    return Contribution(ENTITY_TYPE, entity_id, bundle, 'source-a', False, {'n': 1})


def test_bulk_load_turns_refresh_off(os_backend, raw):
    aggregates, contributions = _bulk_load_setup(os_backend, raw)
    replicas = f'azul_{os_backend.deployment}_{CATALOG}_replica'
    counts = f'azul_{os_backend.deployment}_{CATALOG}_counts'
    docs = documents(3, seed=7)
    with os_backend.bulk_load(CATALOG):
        assert _refresh_intervals(raw, os_backend) == {
            aggregates: '-1', contributions: '-1', replicas: '-1', counts: '-1'}
        # The indexer searches for contributions right after writing them
        contribution = _contribution(docs[0].entity_id)
        os_backend.write_contributions(CATALOG, [contribution])
        read = os_backend.read_contributions(CATALOG, ENTITY_TYPE, [docs[0].entity_id])
        assert read == {docs[0].entity_id: [contribution]}
        writes = [AggregateWrite(d.entity_id, d, None) for d in docs]
        assert os_backend.write_aggregates(CATALOG, ENTITY_TYPE, writes) == []
        # Written without a refresh: invisible to searches, but read by id
        assert os_backend.count(CATALOG, ENTITY_TYPE) == 0
        assert set(os_backend.read_aggregates(CATALOG, ENTITY_TYPE, [docs[0].entity_id])) == {
            docs[0].entity_id}
    assert _refresh_intervals(raw, os_backend) == {
        aggregates: None, contributions: '5s', replicas: None, counts: None}
    assert os_backend.count(CATALOG, ENTITY_TYPE) == 3


def test_reindex_loads_contributions_without_refresh(os_backend, raw):
    # A reindex's contributions skip the refresh; only when an aggregate it
    # creates turns out to exist (a notification won) is the catalog
    # refreshed, so that folding it again from the stored contributions
    # finds them all
    _bulk_load_setup(os_backend, raw)
    a, b = documents(2, seed=10)
    with os_backend.bulk_load(CATALOG):
        loaded = _contribution(a.entity_id)
        assert os_backend.load_contributions(CATALOG, [loaded]) == 1
        assert os_backend.count(CATALOG, ENTITY_TYPE, aggregate=False) == 0
        assert os_backend.read_contributions(CATALOG, ENTITY_TYPE, [a.entity_id]) == {}
        os_backend.write_aggregates(CATALOG, ENTITY_TYPE, [AggregateWrite(a.entity_id, a, None)])
        assert os_backend.load_aggregates(CATALOG, ENTITY_TYPE, [a, b]) == [a.entity_id]
        assert os_backend.read_contributions(CATALOG, ENTITY_TYPE, [a.entity_id]) == {
            a.entity_id: [loaded]}


def test_bulk_load_restores_after_an_error(os_backend, raw):
    aggregates, contributions = _bulk_load_setup(os_backend, raw)
    doc = documents(1, seed=8)[0]
    with pytest.raises(RuntimeError, match='reindex failed'):
        with os_backend.bulk_load(CATALOG):
            os_backend.write_aggregates(CATALOG, ENTITY_TYPE,
                                        [AggregateWrite(doc.entity_id, doc, None)])
            raise RuntimeError('reindex failed')
    intervals = _refresh_intervals(raw, os_backend)
    assert (intervals[aggregates], intervals[contributions]) == (None, '5s')
    # What was written before the error is visible
    assert os_backend.count(CATALOG, ENTITY_TYPE) == 1
    # Writes refresh again
    other = documents(2, seed=9)[1]
    os_backend.write_aggregates(CATALOG, ENTITY_TYPE,
                                [AggregateWrite(other.entity_id, other, None)])
    assert os_backend.count(CATALOG, ENTITY_TYPE) == 2


def test_bulk_load_around_recreated_indices(os_backend, raw):
    """A reindex drops and recreates the catalog's indices inside the block."""
    aggregates, contributions = _bulk_load_setup(os_backend, raw)
    with os_backend.bulk_load(CATALOG):
        os_backend.delete_indices(CATALOG)
        os_backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
        assert set(_refresh_intervals(raw, os_backend).values()) == {'-1'}
    # The new indices get the default, not the old indices' values
    assert set(_refresh_intervals(raw, os_backend).values()) == {None}


def test_bulk_load_sends_chunks_in_parallel(os_backend, monkeypatch):
    """
    Inside `bulk_load` several bulk requests are in flight at once; each
    document's outcome still reaches the caller, conflicts by entity id.
    """
    monkeypatch.setattr(backend_module, 'LOAD_CHUNK_SIZE', 3)
    os_backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    docs = _copies(documents(1)[0], 20)
    # In the second and the fifth request of three documents
    taken = [docs[4], docs[13]]
    assert os_backend.write_aggregates(CATALOG, ENTITY_TYPE,
                                       [AggregateWrite(d.entity_id, d, None) for d in taken]) == []
    sizes = []
    bulk = os_backend._writer.bulk

    def counting_bulk(body, **kwargs):
        # The aggregates' requests, not the kept counts' at the end
        if '_counts' not in body:
            sizes.append(body.count('\n') // 2)
        return bulk(body=body, **kwargs)

    monkeypatch.setattr(os_backend._writer, 'bulk', counting_bulk)
    with os_backend.bulk_load(CATALOG):
        conflicts = os_backend.write_aggregates(
            CATALOG, ENTITY_TYPE, [AggregateWrite(d.entity_id, d, None) for d in docs])
    assert conflicts == [docs[4].entity_id, docs[13].entity_id]
    # 20 documents, 3 a request (the last one 2)
    assert sorted(sizes) == [2] + [3] * 6
    assert os_backend.count(CATALOG, ENTITY_TYPE) == 20


def _copies(doc: IndexedAggregate, count: int) -> list[IndexedAggregate]:
    result = []
    for i in range(count):
        aggregate = attrs.evolve(doc.aggregate, entity_id=str(uuid.UUID(int=i * 7919 + 13)))
        result.append(IndexedAggregate(aggregate, REGISTRY.extract(aggregate.to_json())))
    return result


def test_paging_beyond_one_page(os_backend):
    """`scan` and `read_contributions` page with `search_after`, 1000 documents a time."""
    os_backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    docs = _copies(documents(1)[0], 2345)
    writes = [AggregateWrite(d.entity_id, d, None) for d in docs]
    assert os_backend.write_aggregates(CATALOG, ENTITY_TYPE, writes) == []
    scanned = [d['entity_id'] for d in os_backend.scan(CATALOG, ENTITY_TYPE, Filters())]
    assert scanned == sorted(d.entity_id for d in docs)

    entity_id = docs[0].entity_id
    contributions = [Contribution(ENTITY_TYPE, entity_id,
                                  BundleFQID(str(uuid.UUID(int=i)), '2021-01-01T00:00:00.000000Z'),
                                  'source-a', i % 5 == 0, {'n': i})
                     for i in range(1234)]
    assert os_backend.write_contributions(CATALOG, contributions) == len(contributions)
    read = os_backend.read_contributions(CATALOG, ENTITY_TYPE, [entity_id])[entity_id]
    assert sorted(read, key=lambda c: c.id) == sorted(contributions, key=lambda c: c.id)


def test_field_names_with_dots(os_backend):
    # `project` and `project.title` would clash as OpenSearch object paths
    fields = FieldRegistry((
        Field('project', FieldType.keyword, 'project.id', facet=True),
        Field('project.title', FieldType.keyword, 'project.title', facet=True),
        Field('project.size', FieldType.long, 'project.size'),
    ))
    os_backend.create_indices(CATALOG, [ENTITY_TYPE], fields)
    docs = []
    for i, (title, size) in enumerate([('a', 3), ('b', None), ('a', 1), (None, 2)]):
        contents = {'project': {'id': f'p{i % 2}', 'title': title, 'size': size}}
        aggregate = Aggregate(ENTITY_TYPE, str(uuid.UUID(int=i)), contents, (), (), 1)
        docs.append(IndexedAggregate(aggregate, fields.extract(aggregate.to_json())))
    writes = [AggregateWrite(d.entity_id, d, None) for d in docs]
    assert os_backend.write_aggregates(CATALOG, ENTITY_TYPE, writes) == []
    for sort_field in fields:
        request = SearchRequest(ENTITY_TYPE,
                                Filters((Is(fields['project.title'], ('a', None)),)),
                                Sort(sort_field, 'desc'), size=10, facets=fields.facets)
        assert os_backend.search(CATALOG, request) == reference_search(docs, request)


class _Silent(socketserver.BaseRequestHandler):
    """
    Answers HEAD requests with 200, mapping requests with a mapping without
    facets; every other request with the server's `answer`, or, if that is
    None, not at all.
    """

    def handle(self):
        server: _SilentServer = self.server  # type: ignore[assignment]
        data = b''
        while b'\r\n\r\n' not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            data += chunk
        head = data.split(b'\r\n\r\n', 1)[0].decode()
        method, path, _ = head.split('\r\n', 1)[0].split(' ', 2)
        if method == 'HEAD':
            self.request.sendall(b'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n')
            return
        if method == 'GET' and path.endswith('/_mapping'):
            index = path.split('/')[1]
            body = json.dumps({index: {'mappings': {'_meta': {'facets': {}}}}}).encode()
            self.request.sendall(b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n'
                                 b'content-length: %d\r\n\r\n%s' % (len(body), body))
            return
        with server.lock:
            server.requests.append((method, path))
            server.heads.append(head)
        if server.answer is None:
            server.release.wait(30)
        else:
            self.request.sendall(server.answer)


class _SilentServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), _Silent)
        self.requests: list[tuple[str, str]] = []
        self.heads: list[str] = []
        self.answer: bytes | None = None
        self.lock = threading.Lock()
        self.release = threading.Event()


@contextlib.contextmanager
def _silent_server() -> Iterator[_SilentServer]:
    server = _SilentServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def test_writes_are_not_retried():
    """
    A timed-out write may have been applied; the client must not send it
    again but report the cluster as unavailable, so the indexer re-reads.
    A timed-out read is not sent again either: a hung node answers 503 after
    one timeout, not three.
    """
    doc = documents(1)[0]
    with _silent_server() as server:
        endpoint = f'http://127.0.0.1:{server.server_address[1]}'
        backend = OpenSearchBackend(endpoint, prefix='azul', deployment='silent', timeout=1)
        start = time.monotonic()
        with pytest.raises(ServiceUnavailableError, match=endpoint):
            backend.write_aggregates(CATALOG, ENTITY_TYPE, [AggregateWrite(doc.entity_id, doc,
                                                                           (0, 1))])
        assert time.monotonic() - start < 5
        assert [m for m, _ in server.requests] == ['POST']
        with pytest.raises(ServiceUnavailableError, match=endpoint):
            backend.count(CATALOG, ENTITY_TYPE)
        assert len(server.requests) == 1 + 1
        backend.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_unreachable_cluster():
    endpoint = f'http://127.0.0.1:{_closed_port()}'
    backend = OpenSearchBackend(endpoint, prefix='azul', deployment='gone', timeout=2)
    request = SearchRequest(ENTITY_TYPE, Filters(), Sort(REGISTRY['entryId']), size=1)
    calls = [
        backend.health,
        lambda: backend.search(CATALOG, request),
        lambda: backend.count(CATALOG, ENTITY_TYPE),
        lambda: backend.read_aggregates(CATALOG, ENTITY_TYPE, ['x']),
        lambda: list(backend.scan(CATALOG, ENTITY_TYPE, Filters())),
        lambda: backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY),
        backend.drop_deployment,
    ]
    for call in calls:
        with pytest.raises(ServiceUnavailableError, match=endpoint):
            call()
    backend.close()


def test_rejected_request_is_an_azul_error(os_backend):
    """A cluster-side failure is an AzulError naming the cause, not a transport error."""
    os_backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    # A field the index was created without: `range_lower` has no such property
    bogus = Field('bogusRange', FieldType.range, 'x')
    request = SearchRequest(ENTITY_TYPE, Filters(), Sort(bogus), size=1)
    with pytest.raises(AzulError) as e:
        os_backend.search(CATALOG, request)
    assert not isinstance(e.value, ServiceUnavailableError)
    assert 'bogusRange' in e.value.message


def test_missing_indices_read_as_empty(os_backend):
    request = SearchRequest(ENTITY_TYPE, Filters(), Sort(REGISTRY['entryId']), size=5,
                            facets=REGISTRY.facets)
    result = os_backend.search(CATALOG, request)
    assert (result.hits, result.total) == ((), 0)
    assert os_backend.count(CATALOG, ENTITY_TYPE) == 0
    assert os_backend.get_aggregate(CATALOG, ENTITY_TYPE, 'x') is None
    assert os_backend.read_aggregates(CATALOG, ENTITY_TYPE, ['x']) == {}
    assert os_backend.read_contributions(CATALOG, ENTITY_TYPE, ['x']) == {}
    assert list(os_backend.scan(CATALOG, ENTITY_TYPE, Filters())) == []


def test_credentials_are_sent_and_rejection_is_unavailability():
    with _silent_server() as server:
        body = b'{"error": "unauthorized", "status": 401}'
        server.answer = (b'HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n'
                         b'content-length: %d\r\n\r\n%s' % (len(body), body))
        endpoint = f'http://127.0.0.1:{server.server_address[1]}'
        backend = OpenSearchBackend(endpoint, prefix='azul', deployment='auth',
                                    auth='user:pass:word')
        with pytest.raises(ServiceUnavailableError, match='rejected our credentials'):
            backend.health()
        backend.close()
    # Only the first colon separates user from password
    expected = base64.b64encode(b'user:pass:word').decode()
    assert f'authorization: basic {expected}'.lower() in server.heads[0].lower()
