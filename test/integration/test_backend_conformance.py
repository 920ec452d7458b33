"""
Every backend must give the answers of the plain-Python reference semantics in
`azul.core.search` and `azul.core.filters`. The read-only tests share one
indexed copy of `backend_data` per backend; the write tests get a fresh,
empty backend each.
"""
import json
import uuid
from collections.abc import Iterator

import attrs
import pytest
from backend_data import (
    CATALOG,
    ENTITY_TYPE,
    OTHER_ENTITY_TYPE,
    contributions,
    documents,
    loaded_backend,
    observed_values,
    registry,
    unseen_values,
)

from azul.backends.base import AggregateWrite, Replica, SearchBackend
from azul.core.documents import IndexedAggregate
from azul.core.fields import Field, FieldType
from azul.core.filters import Contains, Filters, Intersects, Is, Term, Within, matches
from azul.core.search import (
    Cardinality,
    Count,
    SearchRequest,
    SearchResult,
    Sort,
    Sum,
    SummaryRequest,
    Terms,
    reference_search,
    reference_summary,
)
from azul_testing import BACKENDS

REGISTRY = registry()
DOCS = documents()
FACETS = REGISTRY.facets
SORTABLE = tuple(f for f in REGISTRY if f.sortable)
ID_SORT = Sort(REGISTRY['entryId'])


@pytest.fixture(scope='module', params=BACKENDS)
def loaded(request, tmp_path_factory) -> Iterator[SearchBackend]:
    """A backend holding DOCS, shared by the read-only tests of this module."""
    with loaded_backend(request.param, tmp_path_factory.mktemp(request.param),
                        REGISTRY, DOCS) as backend:
        yield backend


def search(filters: Filters = Filters(), sort: Sort = ID_SORT, size: int = len(DOCS) + 5,
           **kwargs) -> SearchRequest:
    return SearchRequest(entity_type=ENTITY_TYPE, filters=filters, sort=sort, size=size,
                         facets=FACETS, **kwargs)


def assert_same(actual: SearchResult, expected: SearchResult) -> None:
    # Piecewise first, for readable failures
    assert [h.entity_id for h in actual.hits] == [h.entity_id for h in expected.hits]
    assert [h.sort for h in actual.hits] == [h.sort for h in expected.hits]
    assert actual.total == expected.total
    assert set(actual.facets) == set(expected.facets)
    for name, facet in expected.facets.items():
        assert dict(actual.facets[name].counts) == dict(facet.counts), name
        assert actual.facets[name].total == facet.total, name
    assert [h.document for h in actual.hits] == [h.document for h in expected.hits]


def check_search(backend: SearchBackend, request: SearchRequest) -> SearchResult:
    expected = reference_search(DOCS, request)
    assert_same(backend.search(CATALOG, request), expected)
    return expected


def _two_values(field: Field) -> list:
    present = [v for v in observed_values(DOCS, field) if v is not None]
    return present[:1] + present[-1:] if present else []


def _ranges(field: Field) -> list[tuple]:
    if field.type is FieldType.range:
        return [(0.0, 20.0), (-10.0, 0.0), (6.0, 8.0), (1000.0, 1000.0), (50.0, 60.0)]
    values = sorted(v for v in observed_values(DOCS, field) if v is not None)
    lo, hi = values[0], values[-1]
    if field.type is FieldType.date:
        return [(lo, lo), (values[1], hi),
                ('1999-01-01T00:00:00.000000Z', '2000-01-01T00:00:00.000000Z'), (lo, values[1])]
    return [(lo, lo), (float(values[1]), float(hi)), (-1e9, float(lo) - 1), (lo - 0.5, lo + 0.5)]


def relation_cases() -> list[tuple[str, Term]]:
    cases = []
    for field in REGISTRY:
        two = _two_values(field)
        cases.append((f'{field.name}-is', Is(field, tuple(two[:1]))))
        cases.append((f'{field.name}-is-any', Is(field, tuple(two))))
        cases.append((f'{field.name}-is-null', Is(field, (None,))))
        cases.append((f'{field.name}-is-null-or', Is(field, (None, *two[:1]))))
        cases.append((f'{field.name}-is-unseen', Is(field, tuple(unseen_values(field)))))
        relations = {'within': Within, 'contains': Contains, 'intersects': Intersects}
        for name, relation in relations.items():
            if name in field.type.relations:
                for i, r in enumerate(_ranges(field)):
                    cases.append((f'{field.name}-{name}-{i}', relation(field, (r,))))
                # Ranges are ANDed, as in the original
                cases.append((f'{field.name}-{name}-all', relation(field, tuple(_ranges(field)))))
                cases.append((f'{field.name}-{name}-both',
                               relation(field, tuple(_ranges(field)[:2]))))
    return cases


RELATION_CASES = relation_cases()


@pytest.mark.parametrize('term', [t for _, t in RELATION_CASES],
                         ids=[name for name, _ in RELATION_CASES])
def test_relation(loaded, term):
    check_search(loaded, search(Filters((term,))))


def test_relation_cases_discriminate():
    # Most cases must select some but not all documents, or they would test little
    # (the ANDed `-all` ranges mostly select nothing, which is their point)
    totals = [reference_search(DOCS, search(Filters((t,)))).total for _, t in RELATION_CASES]
    assert sum(0 < t < len(DOCS) for t in totals) > len(totals) * 3 // 5


def test_relations_cover_every_type():
    covered = {(t.field.type, type(t).__name__.lower()) for _, t in RELATION_CASES}
    for kind in FieldType:
        for relation in kind.relations:
            assert (kind, relation) in covered


def test_no_filters(loaded):
    expected = check_search(loaded, search())
    assert expected.total == len(DOCS)


def test_combined_filters(loaded):
    organ, size, age = REGISTRY['organ'], REGISTRY['fileSize'], REGISTRY['organismAgeRange']
    filters = Filters((Is(organ, ('brain', None)),
                       Within(size, ((0.0, 2000.0),)),
                       Intersects(age, ((0.0, 15.0),))))
    expected = check_search(loaded, search(filters))
    assert 0 < expected.total < len(DOCS)


def test_facet_ignores_own_filter(loaded):
    organ = REGISTRY['organ']
    result = loaded.search(CATALOG, search(Filters((Is(organ, ('brain',)),))))
    counts = result.facets['organ'].counts
    # Sibling terms stay visible although the filter excludes documents having only them
    assert counts.get('blood', 0) > 0 and counts.get('brain', 0) == result.total
    assert result.facets['organ'].total == len(DOCS)
    assert result.facets['fileFormat'].total == result.total
    check_search(loaded, search(Filters((Is(organ, ('brain',)),))))


@pytest.mark.parametrize('order', ['asc', 'desc'])
@pytest.mark.parametrize('field', SORTABLE, ids=[f.name for f in SORTABLE])
def test_sort(loaded, field, order):
    expected = check_search(loaded, search(sort=Sort(field, order)))
    if field.name != 'unused':
        assert len({h.sort[0] for h in expected.hits}) > 1


def test_sort_with_filter_and_small_page(loaded):
    field = REGISTRY['organ']
    filters = Filters((Is(REGISTRY['fileFormat'], ('bam', 'fastq.gz', None)),))
    for order in ('asc', 'desc'):
        check_search(loaded, search(filters, Sort(field, order), size=5))


PAGED_SORTS = [Sort(REGISTRY[name], order)
               for name in ('fileSize', 'organ', 'cellCount', 'organismAgeRange',
                            'isIntermediate', 'lastModified', 'entryId')
               for order in ('asc', 'desc')]


@pytest.mark.parametrize('sort', PAGED_SORTS,
                         ids=[f'{s.field.name}-{s.order}' for s in PAGED_SORTS])
def test_paging(loaded, sort):
    size = 7
    full = reference_search(DOCS, search(sort=sort))
    pages, cursor = [], None
    while True:
        request = search(sort=sort, size=size, search_after=cursor)
        result = check_search(loaded, request)
        if not result.hits:
            break
        pages.append(result.hits)
        cursor = result.hits[-1].sort
    ids = [h.entity_id for page in pages for h in page]
    assert ids == [h.entity_id for h in full.hits]
    assert len(set(ids)) == len(DOCS)
    # And back again, from the end, with search_before
    back, cursor = [], pages[-1][0].sort
    while True:
        result = check_search(loaded, search(sort=sort, size=size, search_before=cursor))
        if not result.hits:
            break
        back.insert(0, result.hits)
        cursor = result.hits[0].sort
    assert [h.entity_id for page in back for h in page] == ids[:len(ids) - len(pages[-1])]


def test_cursor_with_null_value(loaded):
    sort = Sort(REGISTRY['fileSize'], 'asc')
    nulls = [h for h in reference_search(DOCS, search(sort=sort)).hits if h.sort[0] is None]
    assert len(nulls) > 2
    middle = nulls[len(nulls) // 2].sort
    check_search(loaded, search(sort=sort, size=3, search_after=middle))
    check_search(loaded, search(sort=sort, size=3, search_before=middle))
    check_search(loaded, search(sort=sort, size=0))


def summary_request(filters: Filters = Filters()) -> SummaryRequest:
    r = REGISTRY
    return SummaryRequest(ENTITY_TYPE, filters, (
        Count('count'),
        Sum('totalSize', r['fileSize']),
        Sum('totalCells', r['cellCount']),
        Sum('donors', r['donorCount']),
        Cardinality('projects', r['projectId']),
        Cardinality('organs', r['organ']),
        Cardinality('ranges', r['organismAgeRange']),
        # The original counts the `~null` term of a cardinality (labCount)
        Cardinality('organsAndNull', r['organ'], count_null=True),
        Cardinality('descriptionsAndNull', r['description'], count_null=True),
        Cardinality('rangesAndNull', r['organismAgeRange'], count_null=True),
        Cardinality('unusedAndNull', r['unused'], count_null=True),
        Terms('byOrgan', r['organ'], sums=(r['fileSize'], r['cellCount']),
              distinct=(r['projectId'],)),
        Terms('byFormat', r['fileFormat'], sums=(r['fileSize'],)),
        Terms('byFlag', r['isIntermediate'], distinct=(r['fileFormat'], r['donorCount'])),
        Terms('byAge', r['organismAgeRange']),
        Terms('byUnused', r['unused'], sums=(r['cellCount'],)),
    ))


SUMMARY_FILTERS = [
    Filters(),
    Filters((Is(REGISTRY['organ'], ('brain', 'blood')),)),
    Filters((Is(REGISTRY['fileFormat'], (None,)), Within(REGISTRY['cellCount'], ((0.0, 200.0),)))),
    Filters((Is(REGISTRY['organ'], ('kidney',)),)),
]


@pytest.mark.parametrize('filters', SUMMARY_FILTERS, ids=range(len(SUMMARY_FILTERS)))
def test_summary(loaded, filters):
    request = summary_request(filters)
    expected = reference_summary(DOCS, request)
    actual = loaded.summary(CATALOG, request)
    assert set(actual) == set(expected)
    for name in expected:
        assert actual[name] == expected[name], name


@pytest.mark.parametrize('filters', SUMMARY_FILTERS, ids=range(len(SUMMARY_FILTERS)))
def test_scan(loaded, filters):
    expected = [d.aggregate.to_json() for d in sorted(DOCS, key=lambda d: d.entity_id)
                if all(_matches(t, d) for t in filters.terms)]
    assert list(loaded.scan(CATALOG, ENTITY_TYPE, filters)) == expected


def _matches(term, doc) -> bool:
    return matches(term, doc.fields[term.field.name])


def test_count_and_get(loaded):
    assert loaded.count(CATALOG, ENTITY_TYPE) == len(DOCS)
    assert loaded.count(CATALOG, ENTITY_TYPE, aggregate=False) == 0
    assert loaded.count('nosuchcatalog', ENTITY_TYPE) == 0
    for doc in DOCS[:5]:
        assert loaded.get_aggregate(CATALOG, ENTITY_TYPE, doc.entity_id) == doc.aggregate.to_json()
    assert loaded.get_aggregate(CATALOG, ENTITY_TYPE, str(uuid.uuid4())) is None
    versions = loaded.read_aggregates(CATALOG, ENTITY_TYPE, [d.entity_id for d in DOCS[:3]])
    assert {k: v.aggregate for k, v in versions.items()} == {
        d.entity_id: d.aggregate for d in DOCS[:3]
    }


def test_health(loaded):
    assert loaded.health()['up'] is True


# Write tests: a fresh backend each


def _create(backend: SearchBackend) -> None:
    backend.create_indices(CATALOG, [ENTITY_TYPE, OTHER_ENTITY_TYPE], REGISTRY)


def _changed(doc, n: int):
    aggregate = attrs.evolve(doc.aggregate, num_contributions=doc.aggregate.num_contributions + n)
    return attrs.evolve(doc, aggregate=aggregate)


def test_optimistic_concurrency(backend):
    _create(backend)
    a, b, c = DOCS[:3]
    write = backend.write_aggregates
    assert write(CATALOG, ENTITY_TYPE, [AggregateWrite(a.entity_id, a, None)]) == []
    v1 = backend.read_aggregates(CATALOG, ENTITY_TYPE, [a.entity_id])[a.entity_id].version

    # Create-if-absent loses against an existing document
    assert write(CATALOG, ENTITY_TYPE, [AggregateWrite(a.entity_id, _changed(a, 1), None)]) == [
        a.entity_id]
    assert backend.get_aggregate(CATALOG, ENTITY_TYPE, a.entity_id) == a.aggregate.to_json()

    # An update with the current version wins and changes the version
    a2 = _changed(a, 2)
    assert write(CATALOG, ENTITY_TYPE, [AggregateWrite(a.entity_id, a2, v1)]) == []
    v2 = backend.read_aggregates(CATALOG, ENTITY_TYPE, [a.entity_id])[a.entity_id].version
    assert v2 != v1
    assert backend.get_aggregate(CATALOG, ENTITY_TYPE, a.entity_id) == a2.aggregate.to_json()

    # A stale version loses, in a batch whose other writes are applied
    batch = [AggregateWrite(a.entity_id, _changed(a, 3), v1),
             AggregateWrite(b.entity_id, b, None),
             AggregateWrite(c.entity_id, None, None)]
    assert write(CATALOG, ENTITY_TYPE, batch) == [a.entity_id]
    assert backend.get_aggregate(CATALOG, ENTITY_TYPE, a.entity_id) == a2.aggregate.to_json()
    assert backend.get_aggregate(CATALOG, ENTITY_TYPE, b.entity_id) == b.aggregate.to_json()
    assert backend.count(CATALOG, ENTITY_TYPE) == 2

    # The search projection follows the applied writes only
    hits = backend.search(CATALOG, search()).hits
    assert [h.document for h in hits] == [d.aggregate.to_json()
                                          for d in sorted([a2, b], key=lambda d: d.entity_id)]

    # Deletion is versioned too
    assert write(CATALOG, ENTITY_TYPE, [AggregateWrite(a.entity_id, None, v1)]) == [a.entity_id]
    assert write(CATALOG, ENTITY_TYPE, [AggregateWrite(a.entity_id, None, v2)]) == []
    assert backend.get_aggregate(CATALOG, ENTITY_TYPE, a.entity_id) is None
    assert backend.read_aggregates(CATALOG, ENTITY_TYPE, [a.entity_id]) == {}
    assert backend.count(CATALOG, ENTITY_TYPE) == 1
    # Facet counts and summaries forget the deleted and the replaced documents
    assert_same(backend.search(CATALOG, search()), reference_search([b], search()))
    request = summary_request()
    assert backend.summary(CATALOG, request) == reference_summary([b], request)

    # Re-creation after deletion starts from absent
    assert write(CATALOG, ENTITY_TYPE, [AggregateWrite(a.entity_id, a, v2)]) == [a.entity_id]
    assert write(CATALOG, ENTITY_TYPE, [AggregateWrite(a.entity_id, a, None)]) == []
    assert backend.count(CATALOG, ENTITY_TYPE) == 2


def test_bulk_loads(backend):
    # A reindex appends contributions and creates aggregates without looking
    # for stored ones; an aggregate that exists (a notification won the race)
    # is reported, and left as it was
    _create(backend)
    contribs = contributions()
    assert backend.load_contributions(CATALOG, contribs) == len(contribs)
    mine = [c for c in contribs if c.entity_type == ENTITY_TYPE]
    result = backend.read_contributions(CATALOG, ENTITY_TYPE, [mine[0].entity_id])
    assert _by_id(result[mine[0].entity_id]) == _by_id(c for c in mine
                                                       if c.entity_id == mine[0].entity_id)
    a, b, c = DOCS[:3]
    writes = [AggregateWrite(a.entity_id, a, None)]
    assert backend.write_aggregates(CATALOG, ENTITY_TYPE, writes) == []
    assert backend.load_aggregates(CATALOG, ENTITY_TYPE, [_changed(a, 1), b, c]) == [a.entity_id]
    assert backend.get_aggregate(CATALOG, ENTITY_TYPE, a.entity_id) == a.aggregate.to_json()
    assert backend.get_aggregate(CATALOG, ENTITY_TYPE, c.entity_id) == c.aggregate.to_json()
    assert backend.count(CATALOG, ENTITY_TYPE) == 3
    assert_same(backend.search(CATALOG, search()), reference_search([a, b, c], search()))


def test_bulk_loads_into_a_generation_being_built(backend):
    # As a reindex does: aggregates that a notification wrote into the new
    # generation meanwhile are reported and kept; one it wrote and then
    # deleted again is absent, so the load creates it (the DuckDB backend
    # remembers what it wrote there instead of searching the table)
    _create(backend)
    backend.begin_generation(CATALOG, [ENTITY_TYPE, OTHER_ENTITY_TYPE], REGISTRY)
    a, b, c, d = DOCS[:4]
    write = backend.write_aggregates
    assert write(CATALOG, ENTITY_TYPE, [AggregateWrite(a.entity_id, a, None)]) == []
    assert write(CATALOG, ENTITY_TYPE, [AggregateWrite(d.entity_id, d, None)]) == []
    v = backend.read_aggregates(CATALOG, ENTITY_TYPE, [d.entity_id])[d.entity_id].version
    assert write(CATALOG, ENTITY_TYPE, [AggregateWrite(d.entity_id, None, v)]) == []
    loaded = [_changed(a, 1), b, c, _changed(d, 1)]
    assert backend.load_aggregates(CATALOG, ENTITY_TYPE, loaded) == [a.entity_id]
    assert backend.get_aggregate(CATALOG, ENTITY_TYPE, a.entity_id) == a.aggregate.to_json()
    assert (backend.get_aggregate(CATALOG, ENTITY_TYPE, d.entity_id)
            == _changed(d, 1).aggregate.to_json())
    backend.switch_generation(CATALOG)
    assert backend.count(CATALOG, ENTITY_TYPE) == 4
    assert_same(backend.search(CATALOG, search()),
                reference_search([a, b, c, _changed(d, 1)], search()))


def test_rewrite_updates_facets(backend):
    _create(backend)
    a = DOCS[0]
    writes = [AggregateWrite(a.entity_id, a, None)]
    assert backend.write_aggregates(CATALOG, ENTITY_TYPE, writes) == []
    version = backend.read_aggregates(CATALOG, ENTITY_TYPE, [a.entity_id])[a.entity_id].version
    aggregate = attrs.evolve(DOCS[1].aggregate, entity_id=a.entity_id)
    other = IndexedAggregate(aggregate, REGISTRY.extract(aggregate.to_json()))
    writes = [AggregateWrite(a.entity_id, other, version)]
    assert backend.write_aggregates(CATALOG, ENTITY_TYPE, writes) == []
    request = search()
    expected = reference_search([other], request)
    assert_same(backend.search(CATALOG, request), expected)


def _by_id(items):
    return sorted(items, key=lambda c: c.id)


def test_contributions(backend):
    _create(backend)
    contribs = contributions()
    assert backend.write_contributions(CATALOG, contribs) == len(contribs)
    # Idempotent: the same ids overwrite rather than duplicate
    assert backend.write_contributions(CATALOG, contribs) == len(contribs)
    total = backend.count(CATALOG, ENTITY_TYPE, aggregate=False)
    total += backend.count(CATALOG, OTHER_ENTITY_TYPE, aggregate=False)
    assert total == len(contribs)
    for entity_type in (ENTITY_TYPE, OTHER_ENTITY_TYPE):
        mine = [c for c in contribs if c.entity_type == entity_type]
        ids = sorted({c.entity_id for c in mine})
        absent = str(uuid.uuid4())
        result = backend.read_contributions(CATALOG, entity_type, [*ids, absent])
        assert result.get(absent, []) == []
        for entity_id in ids:
            assert _by_id(result[entity_id]) == _by_id(c for c in mine if c.entity_id == entity_id)
    # An upsert replaces the stored contents
    changed = attrs.evolve(contribs[1], contents={'files': [{'document_id': 'x'}]})
    assert backend.write_contributions(CATALOG, [changed]) == 1
    result = backend.read_contributions(CATALOG, changed.entity_type, [changed.entity_id])
    assert changed in result[changed.entity_id]
    assert contribs[1] not in result[changed.entity_id]


def test_create_and_delete_indices(backend):
    _create(backend)
    docs = DOCS[:4]
    writes = [AggregateWrite(d.entity_id, d, None) for d in docs]
    assert backend.write_aggregates(CATALOG, ENTITY_TYPE, writes) == []
    backend.write_contributions(CATALOG, contributions())
    before = backend.count(CATALOG, ENTITY_TYPE, aggregate=False)
    assert before > 0
    # Idempotent: existing indices and documents are left alone
    _create(backend)
    assert backend.count(CATALOG, ENTITY_TYPE) == len(docs)
    assert backend.count(CATALOG, ENTITY_TYPE, aggregate=False) == before
    # Another catalog is independent
    backend.create_indices('other', [ENTITY_TYPE], REGISTRY)
    assert backend.count('other', ENTITY_TYPE) == 0
    backend.delete_indices(CATALOG)
    assert backend.count(CATALOG, ENTITY_TYPE) == 0
    assert backend.count(CATALOG, ENTITY_TYPE, aggregate=False) == 0
    backend.delete_indices(CATALOG)
    backend.delete_indices('nosuchcatalog')
    _create(backend)
    assert backend.search(CATALOG, search()).total == 0
    assert backend.write_aggregates(CATALOG, ENTITY_TYPE, writes) == []
    assert backend.count(CATALOG, ENTITY_TYPE) == len(docs)


def test_drop_deployment(backend):
    _create(backend)
    writes = [AggregateWrite(d.entity_id, d, None) for d in DOCS[:2]]
    backend.write_aggregates(CATALOG, ENTITY_TYPE, writes)
    backend.drop_deployment()
    assert backend.count(CATALOG, ENTITY_TYPE) == 0


# Replicas

def _replica(entity_id: str, hub_ids: tuple[str, ...], contents: dict | None = None,
             replica_type: str = 'donor_organism') -> Replica:
    return Replica(replica_type=replica_type, entity_id=entity_id,
                   contents=contents or {'id': entity_id, 'nested': {'n': [1, 2.5, None]}},
                   source='src', hub_ids=hub_ids)


def _scan(backend: SearchBackend, hub_ids=(), entity_ids=()) -> list[tuple[str, tuple]]:
    return [(r.entity_id, r.hub_ids)
            for r in backend.scan_replicas(CATALOG, list(hub_ids), list(entity_ids),
                                           include_hub_ids=True)]


def test_replicas(backend):
    _create(backend)
    a = _replica('e1', ('f1', 'p'))
    b = _replica('e2', ('f2', 'p'))
    c = _replica('e0', ('p',), replica_type='project')
    assert backend.write_replicas(CATALOG, [a, b, c]) == 3
    # By hub, in entity id order, each replica once however many hubs match
    assert _scan(backend, ['f1']) == [('e1', ('f1', 'p'))]
    assert _scan(backend, ['p', 'f1', 'f2']) == [('e0', ('p',)), ('e1', ('f1', 'p')),
                                                 ('e2', ('f2', 'p'))]
    # By entity id, alone or together with hubs
    assert _scan(backend, [], ['e0']) == [('e0', ('p',))]
    assert _scan(backend, ['f2'], ['e0', 'e2']) == [('e0', ('p',)), ('e2', ('f2', 'p'))]
    assert _scan(backend, ['nohub'], ['noentity']) == []
    assert _scan(backend) == []
    # The document comes back as written
    replica, = backend.scan_replicas(CATALOG, ['f1'], include_hub_ids=True)
    assert replica == a
    assert replica.id == a.id
    # Without its hub ids unless asked for
    replica, = backend.scan_replicas(CATALOG, ['f1'])
    assert replica == attrs.evolve(a, hub_ids=())


def test_replica_hubs_accumulate(backend):
    _create(backend)
    # The same document reached from two files, in one write and in two
    backend.write_replicas(CATALOG, [_replica('e1', ('f1', 'p')), _replica('e1', ('f3', 'p'))])
    assert backend.write_replicas(CATALOG, [_replica('e1', ('f2', 'p'))]) == 1
    assert _scan(backend, ['f2']) == [('e1', ('f1', 'f2', 'f3', 'p'))]
    # Idempotent: writing it again changes nothing
    backend.write_replicas(CATALOG, [_replica('e1', ('f2', 'p'))])
    assert _scan(backend, ['f1', 'f2', 'f3']) == [('e1', ('f1', 'f2', 'f3', 'p'))]
    # A changed document is a replica of its own, sorted after by replica id
    changed = _replica('e1', ('f4',), contents={'id': 'e1', 'version': 2})
    backend.write_replicas(CATALOG, [changed])
    found = list(backend.scan_replicas(CATALOG, ['f1', 'f4']))
    assert sorted(r.id for r in found) == [r.id for r in found]
    assert {r.contents.get('version') for r in found} == {None, 2}


def test_replica_keys_keep_their_order(backend):
    # A verbatim manifest writes each document as the bundle holds it: the
    # keys' order (deliberately not sorted here) must survive storage, also
    # after a second write adds a hub (on OpenSearch a script rewrites the
    # stored document then)
    _create(backend)
    contents = {'zeta': 1, 'alpha': {'y': [3, {'b': 1, 'a': 2}], 'x': None}, 'mid': 'é'}
    backend.write_replicas(CATALOG, [_replica('e1', ('f1',), contents)])
    backend.write_replicas(CATALOG, [_replica('e1', ('f2',), contents)])
    replica, = backend.scan_replicas(CATALOG, ['f1'])
    assert json.dumps(replica.contents) == json.dumps(contents)
    assert list(replica.contents) == ['zeta', 'alpha', 'mid']


def test_replicas_paged_in_order(backend):
    _create(backend)
    # More than one page of the OpenSearch scan
    replicas = [_replica(f'e{i:05}', ('hub',)) for i in range(2345)]
    backend.write_replicas(CATALOG, reversed(replicas))
    assert [r.entity_id for r in backend.scan_replicas(CATALOG, ['hub'])] == \
        [r.entity_id for r in replicas]


def test_replicas_deleted_with_indices(backend):
    _create(backend)
    backend.write_replicas(CATALOG, [_replica('e1', ('f1',))])
    backend.delete_indices(CATALOG)
    assert _scan(backend, ['f1']) == []
    _create(backend)
    assert _scan(backend, ['f1']) == []
    backend.write_replicas(CATALOG, [_replica('e1', ('f1',))])
    backend.drop_deployment()
    assert _scan(backend, ['f1']) == []
