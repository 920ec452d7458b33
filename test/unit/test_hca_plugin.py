"""
The HCA metadata plugin as a whole, and `fixture_aggregates`, the real
aggregates the other HCA service tests (fields, shape, summary) run on: every
shared fixture bundle, transformed by the plugin and folded by
`core.aggregation.aggregate`, with no backend involved.
"""
import functools
from collections import defaultdict
from pathlib import Path

import pytest

from azul.core.aggregation import aggregate
from azul.core.documents import Aggregate, Contribution, IndexedAggregate
from azul.errors import AzulError
from azul.plugins.metadata.base import HitContext, MetadataPlugin
from azul.plugins.metadata.hca import HCAPlugin
from azul.plugins.repository.canned import CannedRepository

FIXTURES = Path(__file__).resolve().parents[2].parent / 'shared' / 'fixtures'
BUNDLES = FIXTURES / 'hca' / 'bundles'

def fixture_sources() -> list[str]:
    """
    One source per directory of HCA bundles. The example bundles share one
    uuid and version, so each of them is a source (and a catalog) of its own,
    and so are the DSS and the TDR form of bundle 1b6d8348.
    """
    indexer = (BUNDLES / 'indexer').as_uri()
    dirs = [BUNDLES / 'cans' / 'prod', BUNDLES / 'cans' / 'staging',
            *sorted((BUNDLES / 'cans' / 'examples').iterdir())]
    return [indexer + '/*.dss.hca.json', indexer + '/*.tdr.hca.json',
            *(d.as_uri() for d in dirs)]


# A caller who may read every fixture source: every entity is accessible
CONTEXT = HitContext(catalog='dcp2', service_url='http://localhost:7000',
                     readable=frozenset(fixture_sources()))


@functools.cache
def fixture_contributions(source: str) -> tuple[Contribution, ...]:
    repository = CannedRepository()
    plugin = HCAPlugin()
    result = []
    for fqid in repository.list_bundles(source).bundles:
        bundle = repository.fetch_bundle(source, fqid)
        result.extend(plugin.transform(bundle, False))
    return tuple(result)


@functools.cache
def fixture_aggregates(source: str) -> dict[str, tuple[Aggregate, ...]]:
    """The aggregates of one source (a catalog of its own), by entity type."""
    plugin = HCAPlugin()
    by_entity = defaultdict(list)
    for c in fixture_contributions(source):
        by_entity[c.entity_type, c.entity_id].append(c)
    result = defaultdict(list)
    for (entity_type, entity_id), contributions in sorted(by_entity.items()):
        agg = aggregate(entity_type, entity_id, contributions, plugin.aggregators(entity_type))
        assert agg is not None
        result[entity_type].append(agg)
    return {entity_type: tuple(aggs) for entity_type, aggs in result.items()}


@functools.cache
def all_fixture_aggregates() -> dict[str, list[Aggregate]]:
    """Every aggregate of every source, by entity type."""
    result = defaultdict(list)
    for source in fixture_sources():
        for entity_type, aggs in fixture_aggregates(source).items():
            result[entity_type].extend(aggs)
    return dict(result)


def indexed(aggregates: tuple[Aggregate, ...] | list[Aggregate]) -> list[IndexedAggregate]:
    registry = HCAPlugin().field_registry
    return [IndexedAggregate(a, registry.extract(a.to_json())) for a in aggregates]


@functools.cache
def all_fixture_indexed() -> dict[str, list[IndexedAggregate]]:
    """Every aggregate of every source, projected as a backend indexes it."""
    return {t: indexed(aggs) for t, aggs in all_fixture_aggregates().items()}


def test_is_a_metadata_plugin():
    plugin = HCAPlugin()
    assert isinstance(plugin, MetadataPlugin)
    assert plugin.name == 'hca'


def test_entity_types():
    from azul.plugins.metadata.hca.transform import ENTITY_TYPES
    plugin = HCAPlugin()
    assert plugin.entity_types == tuple(ENTITY_TYPES)
    assert set(plugin.exposed_entity_types) == {'files', 'samples', 'projects', 'bundles'}
    assert set(plugin.exposed_entity_types) < set(plugin.entity_types)


def test_default_sorts_are_sortable_fields():
    plugin = HCAPlugin()
    for entity_type in plugin.exposed_entity_types:
        name, order = plugin.default_sort(entity_type)
        field = plugin.field_registry[name]
        assert field.sortable, name
        assert order in ('asc', 'desc')


def test_default_sort_of_unknown_entity_type():
    with pytest.raises(AzulError) as e:
        HCAPlugin().default_sort('cell_suspensions')
    assert e.value.status == 400


def test_facet_companions_name_registered_fields():
    plugin = HCAPlugin()
    companions = plugin.facet_companions()
    assert companions == {'project': 'projectId'}
    for facet, companion in companions.items():
        assert plugin.field_registry[facet].facet
        assert companion in plugin.field_registry


def test_transform_covers_every_entity_type():
    source = fixture_sources()[0]
    types = {c.entity_type for c in fixture_contributions(source)}
    assert types == set(HCAPlugin().entity_types)


def test_every_exposed_entity_type_has_aggregates():
    aggregates = all_fixture_aggregates()
    for entity_type in HCAPlugin().entity_types:
        assert aggregates.get(entity_type), entity_type


def test_shape_and_summary_delegate():
    plugin = HCAPlugin()
    source = fixture_sources()[0]
    project = fixture_aggregates(source)['projects'][0]
    hit = plugin.shape_hit('projects', project.to_json(), CONTEXT)
    assert hit['entryId'] == project.entity_id
    requests = plugin.summary_requests(plugin_filters())
    assert {r.entity_type for r in requests.values()} <= set(plugin.entity_types)
    summary = plugin.shape_summary({})
    assert summary['fileCount'] == 0


def plugin_filters():
    from azul.core.filters import Filters
    return Filters()
