"""
The unfiltered counts OpenSearch writers keep (`azul.backends.opensearch.keeping`):
after creates, updates, deletes and conflicting writes they are the counts of
a hand-made document set (checked by hand), readers answer from them with
one search (the page) and as the search path does; a writer still registered
makes readers count, an expired one is cleared by a recount; `bulk_load`
counts at its end, and a new generation starts from its own counts.
"""
import json
import time
import uuid

import attrs
import pytest
from opensearch_probes import Searches
from opensearchpy import OpenSearch

from azul.backends.base import AggregateWrite, index_name
from azul.backends.opensearch import OpenSearchBackend
from azul.backends.opensearch.kept import Delta, delta
from azul.backends.opensearch.mapping import aggregate_source
from azul.core.documents import Aggregate, BundleFQID, IndexedAggregate
from azul.core.fields import Field, FieldRegistry, FieldType
from azul.core.filters import Filters, Is
from azul.core.search import (
    Cardinality,
    Count,
    FacetResult,
    SearchRequest,
    Sort,
    Sum,
    SummaryRequest,
    Terms,
    reference_search,
    reference_summary,
)

pytestmark = pytest.mark.opensearch

CATALOG = 'kept'
ENTITY_TYPE = 'files'
REGISTRY = FieldRegistry((
    Field('entryId', FieldType.keyword, 'entity_id'),
    Field('fileFormat', FieldType.keyword, 'contents.format', facet=True),
    Field('organ', FieldType.keyword, 'contents.organs', facet=True),
    Field('fileSize', FieldType.long, 'contents.size'),
))
SUMMARY = SummaryRequest(ENTITY_TYPE, Filters(), (
    Count('fileCount'),
    Sum('totalFileSize', REGISTRY['fileSize']),
    Cardinality('organCount', REGISTRY['organ'], count_null=True),
    Terms('organs', REGISTRY['organ']),
    # Kept once asked for
    Terms('formats', REGISTRY['fileFormat'], sums=(REGISTRY['fileSize'],)),
    Terms('organFormats', REGISTRY['organ'], distinct=(REGISTRY['fileFormat'],)),
    # Never kept (not a facet): searched
    Cardinality('sizes', REGISTRY['fileSize']),
))
SPEC = ['sum\tfileFormat\tfileSize', 'distinct\torgan\tfileFormat']


def _doc(name: str, fmt: str | None, organs: list[str], size: int | None) -> IndexedAggregate:
    entity_id = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    contents = {'format': fmt, 'organs': organs, 'size': size}
    aggregate = Aggregate(entity_type=ENTITY_TYPE, entity_id=entity_id, contents=contents,
                          bundles=(BundleFQID(entity_id, '2020-01-01T00:00:00.000000Z'),),
                          sources=('s',), num_contributions=1)
    return IndexedAggregate(aggregate, REGISTRY.extract(aggregate.to_json()))


A = _doc('a', 'bam', ['brain'], 10)
B = _doc('b', 'bam', ['brain', 'liver'], 20)
C = _doc('c', None, [], 5)
D = _doc('d', 'loom', ['liver'], None)
# B changed
B2 = _doc('b', 'loom', ['lung'], 7)


def _backend(es_endpoint: str, deployment: str, **kwargs) -> OpenSearchBackend:
    # Uncached: a cached answer would hide which path answered
    return OpenSearchBackend(es_endpoint, prefix='azul', deployment=deployment,
                             request_cache=False, **kwargs)


def _request() -> SearchRequest:
    return SearchRequest(ENTITY_TYPE, Filters(), Sort(REGISTRY['entryId']), size=2,
                         facets=REGISTRY.facets)


def _kept(raw: OpenSearch, deployment: str, generation: str = '',
          grouped: bool = False) -> dict:
    """
    The state, with the numbers of the count documents of its epoch plus
    its deltas, without the groupings unless `grouped`.
    """
    index = f'azul_{deployment}_{CATALOG}_counts' + (f'__{generation}' if generation else '')
    source = raw.get(index=index, id=ENTITY_TYPE)['_source']
    raw.indices.refresh(index=index)
    hits = raw.search(index=index, body={
        'size': 1000, 'query': {'bool': {'filter': [{'term': {'e': ENTITY_TYPE}},
                                                    {'term': {'g': source.pop('epoch')}}]}},
    })['hits']['hits']
    deltas = [json.loads(raw.get(index=index, id=i)['_source']['d'])
              for i in source.pop('deltas', [])]
    assert len(hits) == source.pop('size', 0)
    for hit in hits:
        doc = hit['_source']
        if doc['c'] == 'total':
            source['total'] = doc['n']
        elif doc['c'] in ('term', 'sum'):
            source.setdefault(doc['c'] + 's', {})[doc['k']] = doc['n']
        else:
            source.setdefault('grouped', {}).setdefault(doc['p'], {})[doc['k']] = doc['n']
    for change in deltas:
        source['total'] += change['total']
        for kind in ('terms', 'sums'):
            counts = source.setdefault(kind, {})
            for key, n in change[kind].items():
                counts[key] = counts.get(key, 0) + n
        for key, group in change['grouped'].items():
            counts = source.setdefault('grouped', {}).setdefault(key, {})
            for entry, n in group.items():
                counts[entry] = counts.get(entry, 0) + n
    # No document, no count (but a sum of 0 stays)
    for counts in [source.get('terms', {})] + [
            g for k, g in source.get('grouped', {}).items() if k.startswith('distinct')]:
        for key in [k for k, n in counts.items() if n == 0]:
            del counts[key]
    if not grouped:
        for key in ('spec', 'grouped', 'refused'):
            source.pop(key, None)
    return source


def _counts(total: int, terms: dict[str, int], size: int) -> dict:
    return {'valid': True, 'leases': {}, 'total': total, 'terms': terms,
            'sums': {'fileSize': size}}


# Checked by hand from A, B, C, D above
FOUR = _counts(4, {'fileFormat\t"bam"': 2, 'fileFormat\t"loom"': 1, 'fileFormat\tnull': 1,
                   'organ\t"brain"': 2, 'organ\t"liver"': 2, 'organ\tnull': 1}, 35)
# B replaced by B2, then A deleted
UPDATED = _counts(4, {'fileFormat\t"bam"': 1, 'fileFormat\t"loom"': 2, 'fileFormat\tnull': 1,
                      'organ\t"brain"': 1, 'organ\t"liver"': 1, 'organ\t"lung"': 1,
                      'organ\tnull': 1}, 22)
DELETED = _counts(3, {'fileFormat\t"loom"': 2, 'fileFormat\tnull': 1,
                      'organ\t"liver"': 1, 'organ\t"lung"': 1, 'organ\tnull': 1}, 12)


# The groupings of the same states, by hand
FOUR_GROUPED = {SPEC[0]: {'fileFormat\t"bam"': 30, 'fileFormat\t"loom"': 0, 'fileFormat\tnull': 5},
                SPEC[1]: {'organ\t"brain"\nfileFormat\t"bam"': 2,
                          'organ\t"liver"\nfileFormat\t"bam"': 1,
                          'organ\t"liver"\nfileFormat\t"loom"': 1}}
UPDATED_GROUPED = {SPEC[0]: {'fileFormat\t"bam"': 10, 'fileFormat\t"loom"': 7,
                             'fileFormat\tnull': 5},
                   SPEC[1]: {'organ\t"brain"\nfileFormat\t"bam"': 1,
                             'organ\t"liver"\nfileFormat\t"loom"': 1,
                             'organ\t"lung"\nfileFormat\t"loom"': 1}}
# A term's sum stays (0) after its last document; readers leave it out
DELETED_GROUPED = {SPEC[0]: {'fileFormat\t"bam"': 0, 'fileFormat\t"loom"': 7,
                             'fileFormat\tnull': 5},
                   SPEC[1]: {'organ\t"liver"\nfileFormat\t"loom"': 1,
                             'organ\t"lung"\nfileFormat\t"loom"': 1}}


def _grouped(raw: OpenSearch, deployment: str) -> dict:
    source = _kept(raw, deployment, grouped=True)
    assert source['spec'] == SPEC and source['refused'] == []
    return source['grouped']



def _same(backend: OpenSearchBackend, searched: OpenSearchBackend,
          docs: list[IndexedAggregate]) -> None:
    """The answers of `backend` are those of the search path and of the reference."""
    request = _request()
    actual, expected = backend.search(CATALOG, request), searched.search(CATALOG, request)
    assert actual == expected
    assert [(name, list(f.counts.items())) for name, f in actual.facets.items()] == [
        (name, list(f.counts.items())) for name, f in expected.facets.items()]
    reference = reference_search(docs, request)
    assert {n: dict(f.counts) for n, f in actual.facets.items()} == {
        n: dict(f.counts) for n, f in reference.facets.items()}
    assert actual.total == reference.total
    summary = backend.summary(CATALOG, SUMMARY)
    assert summary == searched.summary(CATALOG, SUMMARY) == reference_summary(docs, SUMMARY)


def _create(backend: OpenSearchBackend, docs: list[IndexedAggregate]) -> list[str]:
    return backend.write_aggregates(CATALOG, ENTITY_TYPE,
                                    [AggregateWrite(d.entity_id, d, None) for d in docs])


def test_writes_keep_the_counts(es_endpoint, deployment, raw, monkeypatch):
    backend = _backend(es_endpoint, deployment)
    searched = _backend(es_endpoint, deployment, kept_counts=False)
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    assert _create(backend, [A, B, C, D]) == []
    assert _kept(raw, deployment) == {'valid': False, 'leases': {}}
    # The first reader counts, as nothing was counted yet
    _same(backend, searched, [A, B, C, D])
    assert _kept(raw, deployment) == FOUR
    assert _grouped(raw, deployment) == FOUR_GROUPED
    searches = Searches(backend, monkeypatch)
    _same(backend, searched, [A, B, C, D])
    # The page alone, and the one summary aggregation the counts do not answer
    assert searches.take() == [1, 1]

    versions = backend.read_versions(CATALOG, ENTITY_TYPE, [A.entity_id, B.entity_id])
    stale = (versions[B.entity_id][0] + 5, versions[B.entity_id][1])
    # A conflicting update and a create of an existing document change nothing
    assert backend.write_aggregates(CATALOG, ENTITY_TYPE, [
        AggregateWrite(B.entity_id, B2, stale), AggregateWrite(D.entity_id, D, None),
    ]) == [B.entity_id, D.entity_id]
    assert _kept(raw, deployment) == FOUR
    assert backend.write_aggregates(CATALOG, ENTITY_TYPE, [
        AggregateWrite(B.entity_id, B2, versions[B.entity_id])]) == []
    assert _kept(raw, deployment) == UPDATED
    assert _grouped(raw, deployment) == UPDATED_GROUPED
    _same(backend, searched, [A, B2, C, D])
    assert searches.take() == [1, 1]  # the new delta by a real-time get, no search
    # A delete, and a conflicting one
    assert backend.write_aggregates(CATALOG, ENTITY_TYPE, [
        AggregateWrite(A.entity_id, None, versions[A.entity_id]),
        AggregateWrite(C.entity_id, None, versions[A.entity_id]),
    ]) == [C.entity_id]
    assert _kept(raw, deployment) == DELETED
    assert _grouped(raw, deployment) == DELETED_GROUPED
    _same(backend, searched, [B2, C, D])
    assert searches.take() == [1, 1]  # the new delta by a real-time get, no search
    for b in (backend, searched):
        b.close()


def test_a_writer_in_flight_makes_readers_count(es_endpoint, deployment, raw, monkeypatch):
    backend = _backend(es_endpoint, deployment)
    searched = _backend(es_endpoint, deployment, kept_counts=False)
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    assert _create(backend, [A, B, C]) == []
    _same(backend, searched, [A, B, C])
    # A writer that registered, wrote D and has not settled (or died)
    registration = backend._register(CATALOG, ENTITY_TYPE)
    writer = _backend(es_endpoint, deployment, kept_counts=False)
    assert _create(writer, [D]) == []
    searches = Searches(backend, monkeypatch)
    _same(backend, searched, [A, B, C, D])
    # The page and its counts; the summary in two searches of Azul's
    # `azul_summary`, which the test node has (its parts weigh 17.2 by
    # `summary._part_weight`, twice `MIN_PART_SHARE`)
    assert searches.take() == [2, 2]
    assert list(_kept(raw, deployment)['leases']) == [registration.writer]
    # Settling applies its delta and lets readers use the counts again
    assert registration.spec == tuple(SPEC)
    facets = {f.name: f.type for f in REGISTRY.facets}
    backend._settle(registration, delta([], [aggregate_source(D, facets)], ['fileSize'],
                                        registration.spec))
    assert _kept(raw, deployment) == FOUR
    _same(backend, searched, [A, B, C, D])
    assert searches.take() == [1, 1]  # the new delta by a real-time get, no search
    for b in (backend, searched, writer):
        b.close()


def test_an_expired_lease_is_recounted(es_endpoint, deployment, raw, monkeypatch):
    backend = _backend(es_endpoint, deployment, counts_lease=1.0)
    searched = _backend(es_endpoint, deployment, kept_counts=False)
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    assert _create(backend, [A, B, C]) == []
    _same(backend, searched, [A, B, C])
    registration = backend._register(CATALOG, ENTITY_TYPE)
    index = index_name('azul', deployment, CATALOG, ENTITY_TYPE, True)
    # Its write, not yet refreshed: the recount refreshes
    facets = {f.name: f.type for f in REGISTRY.facets}
    raw.index(index=index, id=D.entity_id, refresh=False, body=aggregate_source(D, facets))
    time.sleep(1.5)
    searches = Searches(backend, monkeypatch)
    _same(backend, searched, [A, B, C, D])
    # The page and the recount, then the summary's unkept aggregation
    assert searches.take() == [1, 1, 1]
    assert _kept(raw, deployment) == FOUR
    # The writer, cleared meanwhile, cannot know whether the recount saw its writes
    backend._settle(registration, Delta(1, {}, {}))
    assert _kept(raw, deployment)['valid'] is False
    _same(backend, searched, [A, B, C, D])
    assert _kept(raw, deployment) == FOUR
    for b in (backend, searched):
        b.close()


def test_bulk_load_counts_at_its_end(es_endpoint, deployment, raw):
    backend = _backend(es_endpoint, deployment)
    searched = _backend(es_endpoint, deployment, kept_counts=False)
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    assert _create(backend, [A]) == []
    _same(backend, searched, [A])
    with backend.bulk_load(CATALOG):
        assert _create(backend, [B, C, D]) == []
        assert _kept(raw, deployment)['loading'] is True
    assert _kept(raw, deployment) == FOUR
    _same(backend, searched, [A, B, C, D])
    for b in (backend, searched):
        b.close()


def test_a_new_generation_has_its_own_counts(es_endpoint, deployment, raw, monkeypatch):
    reader = _backend(es_endpoint, deployment)
    searched = _backend(es_endpoint, deployment, kept_counts=False)
    reader.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    assert _create(reader, [A, B]) == []
    _same(reader, searched, [A, B])
    reindexer = _backend(es_endpoint, deployment)
    generation = reindexer.begin_generation(CATALOG, [ENTITY_TYPE], REGISTRY)
    with reindexer.bulk_load(CATALOG):
        assert _create(reindexer, [A, B, C, D]) == []
    assert _kept(raw, deployment, generation) == FOUR
    # With the groupings the live generation keeps
    assert _kept(raw, deployment, generation, grouped=True)['grouped'] == FOUR_GROUPED
    # The readers still read the old generation and its counts
    _same(reader, searched, [A, B])
    reindexer.switch_generation(CATALOG)
    searches = Searches(reader, monkeypatch)
    _same(reader, searched, [A, B, C, D])
    assert searches.take() == [1, 1, 1]  # the new generation's count documents first
    for b in (reader, searched, reindexer):
        b.close()


def test_a_facet_filtered_alone_is_counted_from_them(es_endpoint, deployment, monkeypatch):
    backend = _backend(es_endpoint, deployment)
    searched = _backend(es_endpoint, deployment, kept_counts=False)
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    assert _create(backend, [A, B, C, D]) == []
    # Reads the kept counts of this version
    _same(backend, searched, [A, B, C, D])
    searches = Searches(backend, monkeypatch)
    organ = Filters((Is(REGISTRY['organ'], ('liver', None)),))
    both = Filters((*organ.terms, Is(REGISTRY['fileFormat'], ('bam',))))
    # Whether the node has Azul's aggregations (it has) was asked by the
    # summary of the first read, for its aggregation the counts do not keep
    for filters, expected in ((organ, [2]), (both, [4])):
        request = attrs.evolve(_request(), filters=filters)
        result = backend.search(CATALOG, request)
        assert result == searched.search(CATALOG, request)
        # The page, the total with the other facets; the filtered facet's own
        # counts are those of all documents, kept, unless another filter
        # narrows them: then a search of their own for each filtered facet
        assert searches.take() == expected
        assert result.facets == reference_search([A, B, C, D], request).facets
    # By hand: liver or no organ are b, c and d; organ over all four
    result = backend.search(CATALOG, attrs.evolve(_request(), filters=organ))
    assert result.total == 3
    assert result.facets['organ'] == FacetResult(4, {'brain': 2, 'liver': 2, None: 1})
    assert result.facets['fileFormat'] == FacetResult(3, {'bam': 1, 'loom': 1, None: 1})
    for b in (backend, searched):
        b.close()
