"""
AnVIL facets, summaries and filters of the fixture bundles on both backends,
against the golden files of `unit/test_anvil_shape.py` (see its docstring for
how they were checked against the original's expectations).
"""
import pytest

from azul.core.documents import IndexedAggregate
from azul.core.filters import Contains, Filters, Intersects, Is, Within
from azul.core.search import SearchRequest, Sort
from azul.plugins.metadata.anvil import AnvilPlugin
from azul.service.facets import term_facets
from unit.test_anvil_plugin import ALL, PRIMARY, aggregates
from unit.test_anvil_shape import CATALOG, _golden


def _loaded(backend, uuids):
    plugin = AnvilPlugin()
    registry = plugin.field_registry
    backend.create_indices(CATALOG, plugin.entity_types, registry)
    for entity_type, aggs in aggregates(uuids).items():
        backend.load_aggregates(CATALOG, entity_type,
                                [IndexedAggregate(a, registry.extract(a.to_json()))
                                 for a in aggs])
    return plugin


def test_facets_primary(backend):
    plugin = _loaded(backend, (PRIMARY,))
    registry = plugin.field_registry
    expected = _golden('facets_primary')
    for entity_type in plugin.exposed_entity_types:
        sort_field, order = plugin.default_sort(entity_type)
        request = SearchRequest(entity_type, Filters(), Sort(registry[sort_field], order),
                                size=10, facets=registry.facets)
        result = backend.search(CATALOG, request)
        facets = term_facets(registry, result.facets, {}, {})
        actual = {name: {'terms': f['terms'], 'total': f['total']}
                  for name, f in sorted(facets.items())}
        assert actual == expected[entity_type], entity_type


@pytest.mark.parametrize('name,uuids', [('summary_primary', (PRIMARY,)),
                                        ('summary_all', ALL)])
def test_summary(backend, name, uuids):
    plugin = _loaded(backend, uuids)
    results = {key: backend.summary(CATALOG, request)
               for key, request in plugin.summary_requests(Filters()).items()}
    assert plugin.shape_summary(results) == _golden(name)


def test_filter_supplementary_files(backend):
    plugin = _loaded(backend, ALL)
    registry = plugin.field_registry
    filters = Filters((Is(registry['files.is_supplementary'], (True,)),))
    request = SearchRequest('files', filters, Sort(registry['files.file_id']), size=10)
    result = backend.search(CATALOG, request)
    assert [h.entity_id for h in result.hits] == ['6b0f6c0f-5d80-4242-accb-840921351cd5']
    # A dataset has the supplementary file and the others alike
    request = SearchRequest('datasets', filters, Sort(registry['datasets.dataset_id']), size=10)
    assert backend.search(CATALOG, request).total == 1


def test_open_ranges_unbounded(backend):
    # The fixture's diagnoses have no age bounds: as in the original's
    # OpenSearch range fields, a null bound is unbounded, so the range is all
    # numbers: it contains and overlaps any range, and lies within none
    plugin = _loaded(backend, (PRIMARY,))
    registry = plugin.field_registry
    field = registry['diagnoses.onset_age']

    def total(term):
        request = SearchRequest('donors', Filters((term,)),
                                Sort(registry['donors.donor_id']), size=10)
        return backend.search(CATALOG, request).total

    assert total(Contains(field, ((10.0, 20.0),))) == 1
    assert total(Intersects(field, ((-5.0, 1e300),))) == 1
    assert total(Within(field, ((0.0, 100.0),))) == 0
