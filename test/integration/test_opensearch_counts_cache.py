"""
The OpenSearch backend's cache of counts (`azul.backends.opensearch.cache`):
repeated counts are not searched again, and after every kind of change, made
by the reading object or by another one (another process), the answers are
those of the reference semantics, never the cached ones from before.
"""

import pytest
from backend_data import CATALOG, ENTITY_TYPE, documents, registry
from opensearch_probes import Searches

from azul.backends.base import AggregateWrite, index_name
from azul.backends.opensearch import OpenSearchBackend
from azul.core.documents import IndexedAggregate
from azul.core.filters import Filters, Is
from azul.core.search import (
    Count,
    SearchRequest,
    Sort,
    SummaryRequest,
    Terms,
    reference_search,
    reference_summary,
)
from azul.errors import AzulError

pytestmark = pytest.mark.opensearch

REGISTRY = registry()


def _backend(es_endpoint: str, deployment: str, **kwargs) -> OpenSearchBackend:
    # The cache is for the counts that are not kept (see test_opensearch_kept_counts)
    return OpenSearchBackend(es_endpoint, prefix='azul', deployment=deployment,
                             kept_counts=False, **kwargs)


def _request(sort: str = 'entryId', filters: Filters = Filters()) -> SearchRequest:
    return SearchRequest(ENTITY_TYPE, filters, Sort(REGISTRY[sort]), size=5,
                         facets=REGISTRY.facets)


SUMMARY = SummaryRequest(ENTITY_TYPE, Filters(), (
    Count('count'),
    Terms('formats', REGISTRY['fileFormat'], sums=(REGISTRY['fileSize'],)),
))



def _write(backend: OpenSearchBackend, docs: list[IndexedAggregate]) -> None:
    writes = [AggregateWrite(d.entity_id, d, None) for d in docs]
    assert backend.write_aggregates(CATALOG, ENTITY_TYPE, writes) == []


def _check(backend: OpenSearchBackend, docs: list[IndexedAggregate],
           request: SearchRequest) -> None:
    actual, expected = backend.search(CATALOG, request), reference_search(docs, request)
    assert [h.entity_id for h in actual.hits] == [h.entity_id for h in expected.hits]
    assert actual.total == expected.total
    assert {name: (f.total, dict(f.counts)) for name, f in actual.facets.items()} == {
        name: (f.total, dict(f.counts)) for name, f in expected.facets.items()}


def test_repeated_counts_are_not_searched_again(es_endpoint, deployment, monkeypatch):
    backend = _backend(es_endpoint, deployment)
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    docs = documents(20)
    _write(backend, docs)
    searches = Searches(backend, monkeypatch)
    _check(backend, docs, _request())
    assert searches.take() == [2]
    # Another sort, another page: the same counts
    _check(backend, docs, _request('fileSize'))
    assert searches.take() == [1]
    filters = Filters((Is(REGISTRY['fileFormat'], ('bam',)),))
    _check(backend, docs, _request(filters=filters))
    _check(backend, docs, _request('fileSize', filters=filters))
    # Once per backend object, whether the node has Azul's aggregation (the
    # test node has); the page, the total with the other facets, and the
    # filtered facet's own counts; then the page alone
    assert searches.take() == [1, 3, 1]
    for _ in range(2):
        assert backend.summary(CATALOG, SUMMARY) == reference_summary(docs, SUMMARY)
    assert searches.take() == [1]
    backend.close()


def test_uncached_with_request_cache_off(es_endpoint, deployment, monkeypatch):
    backend = _backend(es_endpoint, deployment, request_cache=False)
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    docs = documents(5)
    _write(backend, docs)
    searches = Searches(backend, monkeypatch)
    for _ in range(2):
        _check(backend, docs, _request())
        backend.summary(CATALOG, SUMMARY)
    # The first summary also asks, once, whether the node has Azul's
    # aggregations, for the aggregation the kept counts do not answer
    assert searches.take() == [2, 1, 1, 2, 1]
    backend.close()


def test_writes_of_another_object_are_seen(es_endpoint, deployment):
    writer, reader = _backend(es_endpoint, deployment), _backend(es_endpoint, deployment)
    writer.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    docs = documents(12)
    _write(writer, docs[:6])
    _check(reader, docs[:6], _request())
    assert reader.summary(CATALOG, SUMMARY) == reference_summary(docs[:6], SUMMARY)
    _write(writer, docs[6:])
    _check(reader, docs, _request())
    assert reader.summary(CATALOG, SUMMARY) == reference_summary(docs, SUMMARY)
    # A deletion
    [stored] = writer.read_aggregates(CATALOG, ENTITY_TYPE, [docs[0].entity_id]).values()
    assert writer.write_aggregates(CATALOG, ENTITY_TYPE, [
        AggregateWrite(docs[0].entity_id, None, stored.version)]) == []
    _check(reader, docs[1:], _request())
    assert reader.summary(CATALOG, SUMMARY) == reference_summary(docs[1:], SUMMARY)
    # The catalog dropped and created again
    writer.delete_indices(CATALOG)
    writer.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    _check(reader, [], _request())
    for backend in (writer, reader):
        backend.close()


def test_writes_not_yet_visible_are_not_cached(es_endpoint, deployment, raw):
    """A writer without refresh stamps a version before its writes can be seen."""
    writer = _backend(es_endpoint, deployment, refresh=False)
    reader = _backend(es_endpoint, deployment)
    writer.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    index = index_name('azul', deployment, CATALOG, ENTITY_TYPE, True)
    # No scheduled refresh either
    raw.indices.put_settings(index=index, body={'index': {'refresh_interval': '-1'}})
    docs = documents(8)
    _write(writer, docs)
    # Whatever this search sees, it must not be kept under the new version
    reader.search(CATALOG, _request())
    reader.summary(CATALOG, SUMMARY)
    raw.indices.refresh(index=index)
    _check(reader, docs, _request())
    assert reader.summary(CATALOG, SUMMARY) == reference_summary(docs, SUMMARY)
    for backend in (writer, reader):
        backend.close()


def test_bulk_load_ends_merged_and_cached_again(es_endpoint, deployment, raw, monkeypatch):
    writer, reader = _backend(es_endpoint, deployment), _backend(es_endpoint, deployment)
    writer.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    index = index_name('azul', deployment, CATALOG, ENTITY_TYPE, True)
    docs = documents(30)
    searches = Searches(reader, monkeypatch)
    with writer.bulk_load(CATALOG):
        for i in range(0, 30, 10):
            _write(writer, docs[i:i + 10])
            # A segment per batch
            raw.indices.refresh(index=index)
            _check(reader, docs[:i + 10], _request())
            _check(reader, docs[:i + 10], _request())
        # Written during the load: not cached
        assert searches.take() == [2] * 6
    [shard] = raw.indices.segments(index=index)['indices'][index]['shards']['0']
    assert shard['num_search_segments'] == 1
    _check(reader, docs, _request())
    _check(reader, docs, _request('fileSize'))
    assert searches.take() == [2, 1]
    for backend in (writer, reader):
        backend.close()


def test_a_generation_being_built_is_not_cached(es_endpoint, deployment):
    """Its writes change no content version until the switch."""
    backend = _backend(es_endpoint, deployment)
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    docs = documents(10)
    _write(backend, docs[:3])
    _check(backend, docs[:3], _request())
    backend.begin_generation(CATALOG, [ENTITY_TYPE], REGISTRY)
    _write(backend, docs[3:5])
    _check(backend, docs[3:5], _request())
    _write(backend, docs[5:])
    _check(backend, docs[3:], _request())
    backend.switch_generation(CATALOG)
    _check(backend, docs[3:], _request())
    backend.close()


def test_a_failed_document_still_changes_the_version(es_endpoint, deployment):
    """The documents of the same bulk request before the failed one are written."""
    writer, reader = _backend(es_endpoint, deployment), _backend(es_endpoint, deployment)
    writer.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    docs = documents(6)
    _write(writer, docs[:4])
    _check(reader, docs[:4], _request())
    # A field the strict mapping refuses
    bad = IndexedAggregate(docs[5].aggregate, {**docs[5].fields, 'notAField': ('x',)})
    with pytest.raises(AzulError, match='strict_dynamic_mapping'):
        writer.write_aggregates(CATALOG, ENTITY_TYPE, [AggregateWrite(docs[4].entity_id,
                                                                      docs[4], None),
                                                       AggregateWrite(bad.entity_id, bad, None)])
    _check(reader, docs[:5], _request())
    for backend in (writer, reader):
        backend.close()
