"""
A reindex builds a new generation of the catalog's indices and switches the
readers to it only when it is complete. Real reindexes of fixture bundles;
the readers are backend objects of their own on the same deployment (for
DuckDB: the same database file, in this process), as a running service's
would be, and look at the catalog from inside the reindex's callbacks.

The two catalogs are the `staging` and `prod` canned bundles (4 and 6
bundles of one project each); their project ids were read off the files.
"""
import json
import uuid
from collections.abc import Iterator

import duckdb
import pytest
from opensearchpy import OpenSearch

from azul import envfiles
from azul.config import Config
from azul.core.filters import Filters, Is
from azul.core.search import SearchRequest, Sort
from azul.indexer.index import Indexer
from azul.indexer.reindex import list_source, reindex
from azul.runtime import Runtime
from azul_testing import BACKENDS, FIXTURES, make_backend

CATALOG = 'swap'
STAGING = f'file://{FIXTURES}/hca/bundles/cans/staging'
PROD = f'file://{FIXTURES}/hca/bundles/cans/prod'

STAGING_PROJECTS = [
    '5014cd10-bbed-4e85-bc45-6fe3a8a0079b',
    '519b58ef-6462-4ed3-8c0d-375b54f53c31',
    'ae5237b4-633f-403a-afc6-cb87e6f90db1',
    'bedfd14f-cc98-4142-b627-d44dfec5aced',
]
PROD_PROJECTS = [
    '8c3c290d-dfff-4553-8868-54ce45f4ba7f',
    '93f6a42f-1790-4af4-b5d1-8c436cb6feae',
    '9c20a245-f2c0-43ae-82c9-2232ec6b594f',
    'aabbec1a-1215-43e1-8e42-6489af25c12c',
    'b6dc9b93-929a-45d0-beb2-5cf8e64872fe',
    'd96c2451-6e22-441f-a3e6-70fd0878bb1b',
]


class Handles:

    def __init__(self, kind: str, tmp_path):
        self.kind = kind
        self.tmp_path = tmp_path
        self.deployment = 't' + uuid.uuid4().hex[:10]
        env = envfiles.evaluate({})
        env.update(AZUL_CATALOGS=json.dumps({CATALOG: {
            'atlas': 'hca', 'internal': False,
            'plugins': {'metadata': {'name': 'hca'}, 'repository': {'name': 'canned'}},
            'sources': [STAGING, PROD],
        }}), AZUL_DATA_DIR=str(tmp_path))
        self.config = Config.from_env(env)
        # The reindexing process's backend, and a service's
        self.runtime = Runtime(self.config, backend=make_backend(kind, tmp_path, self.deployment))
        self.reader = make_backend(kind, tmp_path, self.deployment)
        self.service = Runtime(self.config, backend=self.reader)

    def reindex(self, source: str, **kwargs):
        return reindex(self.runtime, CATALOG, [source], workers=1, **kwargs)

    def projects(self) -> list[str]:
        """The project ids a reader finds, by search."""
        plugin = self.service.metadata_plugin(CATALOG)
        field, order = plugin.default_sort('projects')
        request = SearchRequest('projects', Filters(), Sort(plugin.field_registry[field], order),
                                size=100)
        result = self.reader.search(CATALOG, request)
        assert result.total == len(result.hits)
        return sorted(hit.entity_id for hit in result.hits)

    def answer(self) -> dict:
        """Everything a reader gets for the catalog's projects and bundles, as JSON."""
        plugin = self.service.metadata_plugin(CATALOG)
        registry = plugin.field_registry
        answer = {}
        for entity_type in ('projects', 'bundles', 'files'):
            field, order = plugin.default_sort(entity_type)
            request = SearchRequest(entity_type, Filters(), Sort(registry[field], order),
                                    size=1000, facets=registry.facets)
            result = self.reader.search(CATALOG, request)
            answer[entity_type] = {
                'total': result.total,
                'hits': [[hit.entity_id, hit.document] for hit in result.hits],
                'facets': {name: [f.total, sorted(f.counts.items(), key=repr)]
                           for name, f in result.facets.items()},
            }
        # A filtered search: its facets and page come from other queries
        field, order = plugin.default_sort('files')
        request = SearchRequest('files', Filters((Is(registry['fileFormat'], ('fastq.gz',)),)),
                                Sort(registry[field], order), size=5, facets=registry.facets)
        result = self.reader.search(CATALOG, request)
        answer['fastq.gz'] = {
            'total': result.total,
            'hits': [hit.entity_id for hit in result.hits],
            'facets': {name: [f.total, sorted(f.counts.items(), key=repr)]
                       for name, f in result.facets.items()},
        }
        return json.loads(json.dumps(answer, sort_keys=True, default=str))

    def stored_indices(self) -> list[str]:
        """The catalog's indices (tables) as stored, asked of the store itself."""
        prefix = f'azul_{self.deployment}_{CATALOG}_'
        if self.kind == 'opensearch':
            client = OpenSearch(hosts=[self.reader.endpoint])
            try:
                names = client.indices.get(index=prefix + '*', allow_no_indices=True)
            finally:
                client.close()
        else:
            con = duckdb.connect(str(self.tmp_path / 'index.duckdb'))
            try:
                names = [name for name, in con.execute('SELECT table_name FROM duckdb_tables()'
                                                        ).fetchall()]
            finally:
                con.close()
        return sorted(name for name in names if name.startswith(prefix))

    def close(self):
        self.runtime.backend.drop_deployment()
        self.runtime.backend.close()
        self.reader.close()


@pytest.fixture(params=BACKENDS)
def handles(request, tmp_path) -> Iterator[Handles]:
    instance = Handles(request.param, tmp_path)
    try:
        yield instance
    finally:
        instance.close()


def generation_of(name: str) -> str:
    # Stored names end in `__g` and 20 digits and hex digits; a replica
    # table of DuckDB has a suffix after it
    head, sep, tail = name.partition('__g')
    assert sep, name
    return 'g' + tail[:20]


def test_readers_see_the_old_catalog_until_the_switch(handles):
    first = handles.reindex(STAGING)
    assert handles.projects() == STAGING_PROJECTS
    assert handles.reader.count(CATALOG, 'bundles') == 4
    seen = {}

    def midway(n: int):
        # After the first chunk of bundles is written to the new generation
        seen.setdefault('midway', (handles.projects(), handles.reader.count(CATALOG, 'bundles')))

    def before_switch():
        seen['before_switch'] = (handles.projects(), handles.reader.count(CATALOG, 'bundles'))
        seen['generations'] = handles.reader.generations(CATALOG)

    second = handles.reindex(PROD, on_bundle=midway, before_switch=before_switch)
    assert seen['midway'] == (STAGING_PROJECTS, 4)
    assert seen['before_switch'] == (STAGING_PROJECTS, 4)
    assert seen['generations'] == sorted([first.generation, second.generation])
    assert handles.projects() == PROD_PROJECTS
    assert handles.reader.count(CATALOG, 'bundles') == 6
    assert handles.reader.count(CATALOG, 'projects') == 6


def test_two_reindexes_leave_one_generation(handles):
    first = handles.reindex(STAGING)
    second = handles.reindex(STAGING)
    assert first.generation != second.generation
    assert handles.reader.generations(CATALOG) == [second.generation]
    stored = handles.stored_indices()
    # hca has 5 entity types, each an aggregate and a contribution index, and
    # the catalog has a replica index and (OpenSearch) a counts index. DuckDB
    # keeps an aggregate index in 3 tables (rows, facet counts, dictionary), a
    # contribution index in 2 (contributions, their inner entities), the
    # replicas in 3.
    assert len(stored) == {'opensearch': 5 * 2 + 2, 'duckdb': 5 * (3 + 2) + 3}[handles.kind]
    assert {generation_of(name) for name in stored} == {second.generation}
    assert handles.projects() == STAGING_PROJECTS


def test_a_failed_reindex_leaves_the_old_catalog(handles):
    first = handles.reindex(STAGING)
    before = handles.answer()
    assert before['projects']['total'] == 4
    # The staging bundles' sequence files of format fastq.gz, counted in the files
    assert before['fastq.gz']['total'] == 6
    stored = handles.stored_indices()

    def fail(n: int):
        raise RuntimeError('Disk on fire')

    with pytest.raises(RuntimeError, match='Disk on fire'):
        handles.reindex(PROD, on_bundle=fail)
    assert handles.answer() == before
    # The half-built generation is dropped on failure
    assert handles.reader.generations(CATALOG) == [first.generation]
    assert handles.stored_indices() == stored

    def fail_at_switch():
        raise RuntimeError('Power cut')

    with pytest.raises(RuntimeError, match='Power cut'):
        handles.reindex(PROD, before_switch=fail_at_switch)
    assert handles.answer() == before
    assert handles.reader.generations(CATALOG) == [first.generation]

    third = handles.reindex(PROD)
    assert handles.projects() == PROD_PROJECTS
    assert handles.reader.generations(CATALOG) == [third.generation]


def test_an_interrupted_reindex_is_cleaned_up_by_the_next(handles):
    first = handles.reindex(STAGING)
    before = handles.answer()
    # A reindexing process that died after creating its generation: its
    # backend began building, and nothing switched or dropped it
    plugin = handles.service.metadata_plugin(CATALOG)
    killed = make_backend(handles.kind, handles.tmp_path, handles.deployment)
    try:
        orphan = killed.begin_generation(CATALOG, plugin.entity_types, plugin.field_registry)
    finally:
        if handles.kind == 'opensearch':
            killed.close()
    assert handles.reader.generations(CATALOG) == sorted([first.generation, orphan])
    assert handles.answer() == before
    seen = {}
    second = handles.reindex(PROD, before_switch=lambda: seen.update(
        generations=handles.reader.generations(CATALOG)))
    # Dropped when the next reindex began, not only by its switch
    assert seen['generations'] == sorted([first.generation, second.generation])
    assert handles.reader.generations(CATALOG) == [second.generation]
    assert {generation_of(name) for name in handles.stored_indices()} == {second.generation}
    assert handles.projects() == PROD_PROJECTS


def test_a_catalog_indexed_before_generations_is_migrated(handles):
    # Indices made without a reindex have plain names; a service reads them
    indexer = Indexer(handles.service)
    indexer.create_indices(CATALOG)
    fqids, problems = list_source(handles.service, CATALOG, STAGING)
    assert problems == []
    indexer.index_bundles(CATALOG, STAGING, fqids)
    assert handles.projects() == STAGING_PROJECTS
    assert handles.reader.generations(CATALOG) == ['']
    seen = {}
    report = handles.reindex(PROD, before_switch=lambda: seen.update(projects=handles.projects()))
    assert seen['projects'] == STAGING_PROJECTS
    assert handles.projects() == PROD_PROJECTS
    assert handles.reader.generations(CATALOG) == [report.generation]
    assert {generation_of(name) for name in handles.stored_indices()} == {report.generation}


@pytest.mark.parametrize('handles', ['opensearch'], indirect=True)
def test_notifications_during_a_reindex_survive_the_switch(handles):
    # Only OpenSearch serves while a reindex runs: a DuckDB file has one writer
    handles.reindex(STAGING)
    fqids, _ = list_source(handles.service, CATALOG, PROD)
    by_uuid = {fqid.uuid: fqid for fqid in fqids}
    service = Indexer(handles.service)

    def notify(bundle_uuid: str):
        service.index_bundles(CATALOG, PROD, [by_uuid[bundle_uuid]])

    seen = {}

    def midway(n: int):
        if 'midway' not in seen:
            # Bundle 6b498499 is of project d96c2451
            notify('6b498499-c5b4-452f-9ff9-2318dbb86000')
            seen['midway'] = handles.projects()

    def before_switch():
        # Bundle b2216048 is of project 93f6a42f
        notify('b2216048-7eaa-45f4-8077-5a3fb4204953')
        seen['before_switch'] = handles.projects()

    handles.reindex(STAGING, on_bundle=midway, before_switch=before_switch)
    assert seen['midway'] == sorted(STAGING_PROJECTS + ['d96c2451-6e22-441f-a3e6-70fd0878bb1b'])
    assert seen['before_switch'] == sorted(STAGING_PROJECTS
                                           + ['d96c2451-6e22-441f-a3e6-70fd0878bb1b',
                                              '93f6a42f-1790-4af4-b5d1-8c436cb6feae'])
    # The reindex listed only the staging bundles; both notifications' survive
    assert handles.projects() == seen['before_switch']
    assert handles.reader.count(CATALOG, 'bundles') == 6
    doc = handles.reader.get_aggregate(CATALOG, 'projects', '93f6a42f-1790-4af4-b5d1-8c436cb6feae')
    assert [b['uuid'] for b in doc['bundles']] == ['b2216048-7eaa-45f4-8077-5a3fb4204953']


def test_an_index_added_after_a_reindex_is_live(handles):
    # A plugin that gained an entity type since the catalog's last reindex:
    # the indexer creates its indices on the next notification
    first = handles.reindex(STAGING)
    plugin = handles.service.metadata_plugin(CATALOG)
    registry = plugin.field_registry
    handles.reader.create_indices(CATALOG, ('projects', 'extra'), registry)
    field, order = plugin.default_sort('projects')
    request = SearchRequest('extra', Filters(), Sort(registry[field], order), size=10)
    assert handles.reader.search(CATALOG, request).total == 0
    assert handles.reader.count(CATALOG, 'extra') == 0
    assert handles.projects() == STAGING_PROJECTS
    assert handles.reader.generations(CATALOG) == {
        # The live generation's own index on DuckDB; a plain index beside
        # the aliases on OpenSearch, replaced by the next reindex's switch
        'duckdb': [first.generation], 'opensearch': ['', first.generation],
    }[handles.kind]
    second = handles.reindex(STAGING)
    assert handles.reader.generations(CATALOG) == [second.generation]
