"""
Index every HCA fixture bundle into each backend and check the result against
values computed independently from the raw bundle files.

The fixture folders hold conflicting copies of some bundles (the DSS and TDR
forms of one bundle, seven different examples sharing one uuid and version),
so each group of files gets a catalog of its own.
"""
import json
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from azul import envfiles
from azul.config import Config
from azul.core.documents import BundleFQID
from azul.indexer.index import Indexer
from azul.indexer.reindex import reindex
from azul.runtime import Runtime
from azul_testing import FIXTURES, make_backend

BUNDLES = FIXTURES / 'hca' / 'bundles'
EXAMPLES = sorted(p for p in (BUNDLES / 'cans' / 'examples').iterdir() if p.is_dir())

CATALOGS = {
    'dss': [f'file://{BUNDLES}/indexer/*.dss.hca.json'],
    'tdr': [f'file://{BUNDLES}/indexer/*.tdr.hca.json'],
    'prod': [f'file://{BUNDLES}/cans/prod'],
    'staging': [f'file://{BUNDLES}/cans/staging'],
    **{f'example{i}': [f'file://{path}'] for i, path in enumerate(EXAMPLES)},
}


def catalog_files(catalog: str) -> list[Path]:
    files = []
    for source in CATALOGS[catalog]:
        path = Path(source.removeprefix('file://'))
        files.extend(sorted(path.parent.glob(path.name)) if '*' in path.name
                     else sorted(path.glob('*.json')))
    return files


def raw_bundles(catalog: str) -> list[dict]:
    return [json.loads(path.read_text()) for path in catalog_files(catalog)]


def _project_id(bundle: dict) -> str:
    [key] = [k for k in bundle['metadata'] if k.startswith('project/')]
    return key.split('/')[1]


@pytest.fixture(scope='module', params=['duckdb', 'opensearch'])
def indexed(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    deployment = 't' + uuid.uuid4().hex[:10]
    backend = make_backend(request.param, tmp, deployment)
    env = envfiles.evaluate({})
    env.update(AZUL_CATALOGS=json.dumps({
        name: {'atlas': 'hca', 'internal': False,
               'plugins': {'metadata': {'name': 'hca'}, 'repository': {'name': 'canned'}},
               'sources': sources}
        for name, sources in CATALOGS.items()
    }), AZUL_DATA_DIR=str(tmp))
    runtime = Runtime(Config.from_env(env), backend=backend)
    reports = {catalog: reindex(runtime, catalog) for catalog in CATALOGS}
    yield runtime, reports
    backend.drop_deployment()
    backend.close()


def test_every_bundle_is_indexed_without_problems(indexed):
    runtime, reports = indexed
    for catalog, report in reports.items():
        assert report.problems == (), catalog
        assert report.bundles == len(catalog_files(catalog)), catalog
        assert report.aggregates > 0


@pytest.mark.parametrize('catalog', list(CATALOGS))
def test_aggregate_counts_per_entity_type(indexed, catalog):
    runtime, _ = indexed
    backend = runtime.backend
    bundles = raw_bundles(catalog)
    assert backend.count(catalog, 'bundles') == len({_uuid(catalog, i)
                                                     for i in range(len(bundles))})
    assert backend.count(catalog, 'projects') == len({_project_id(b) for b in bundles})
    # A zarr store (member names with `!` or `/` after `.zarr`) is one file
    # per `.zattrs` member, as in the original (1,278 files of the 50 DSS
    # bundles there)
    own_files = {entry['uuid']
                 for b in bundles
                 for entry in b['manifest'].values()
                 if entry['uuid'] not in set(b.get('stitched', ()))
                 and ('.zarr' not in entry['name'].replace('!', '/')
                      or entry['name'].endswith('.zattrs'))}
    assert backend.count(catalog, 'files') == len(own_files)
    if catalog == 'dss':
        assert len(own_files) == 1278
    # A sample is a specimen, cell line or organoid; some bundles have none
    sample_types = ('specimen_from_organism/', 'cell_line/', 'organoid/')
    has_samples = any(k.startswith(sample_types) for b in bundles for k in b['metadata'])
    assert (backend.count(catalog, 'samples') > 0) == has_samples
    has_suspensions = any(k.startswith('cell_suspension/') for b in bundles for k in b['metadata'])
    assert (backend.count(catalog, 'cell_suspensions') > 0) == has_suspensions


def _uuid(catalog: str, i: int) -> str:
    return catalog_files(catalog)[i].name.split('.')[0]


def test_newest_bundle_version_wins(indexed):
    runtime, _ = indexed
    # Two versions of bundle aaa96233 rename project e8642221; the newer name counts
    files = sorted((BUNDLES / 'indexer').glob('aaa96233-*.dss.hca.json'))
    newest = json.loads(files[-1].read_text())
    project = newest['metadata'][f'project/{_project_id(newest)}']
    doc = runtime.backend.get_aggregate('dss', 'projects', _project_id(newest))
    [aggregated] = doc['contents']['projects']
    titles = aggregated['project_title']
    assert titles == [project['project_core']['project_title']] or \
        titles == project['project_core']['project_title']
    assert [b['version'] for b in doc['bundles']] == ['2018-11-04T11:33:44.698028Z']


def test_file_aggregate_carries_manifest_values(indexed):
    runtime, _ = indexed
    bundle = json.loads((BUNDLES / 'indexer' /
                         'f79257a7-dfc6-46d6-ae00-ba4b25313c10.dss.hca.json').read_text())
    for key, entry in bundle['manifest'].items():
        # A file's entity id is its metadata document id, not the data file's uuid
        doc = runtime.backend.get_aggregate('dss', 'files', key.split('/')[1])
        assert doc is not None, key
        [file] = doc['contents']['files']
        assert file['size'] == entry['size']
        assert file['sha256'] == entry['sha256']
        assert file['name'] == entry['name']
        assert file['uuid'] == entry['uuid']
        assert doc['bundles'] == [{'uuid': 'f79257a7-dfc6-46d6-ae00-ba4b25313c10',
                                   'version': doc['bundles'][0]['version']}]


def test_donor_counts_and_species_of_projects(indexed):
    runtime, _ = indexed
    # Only the newest version of each bundle counts: files sort by uuid, then version
    newest = {path.name.split('.')[0]: path for path in catalog_files('dss')}
    bundles = [json.loads(path.read_text()) for path in newest.values()]
    donors = defaultdict(set)
    species = defaultdict(set)
    for bundle in bundles:
        project = _project_id(bundle)
        for key, doc in bundle['metadata'].items():
            if key.startswith('donor_organism/'):
                donors[project].add(key.split('/')[1])
                content = doc.get('content', doc)
                for s in content.get('genus_species', []):
                    species[project].add(s.get('ontology_label') or s.get('text'))
    for project, expected in donors.items():
        doc = runtime.backend.get_aggregate('dss', 'projects', project)
        [aggregated_donors] = doc['contents']['donors']
        assert sorted(aggregated_donors['document_id']) == sorted(expected), project
        got = set(aggregated_donors['genus_species']) - {None}
        assert got == species[project] - {None}, project


def test_redelivery_and_reordering_change_nothing(indexed):
    runtime, _ = indexed
    backend = runtime.backend
    catalog = 'staging'
    source = CATALOGS[catalog][0]
    before = {t: _all(backend, catalog, t) for t in ('projects', 'files', 'samples', 'bundles')}
    listing = runtime.repository_plugin(catalog).list_bundles(source)
    indexer = Indexer(runtime)
    # the same notifications again, in reverse order
    indexer.index_bundles(catalog, source, list(reversed(listing.bundles)))
    after = {t: _all(backend, catalog, t) for t in before}
    assert after == before


def test_deleting_a_bundle_removes_what_only_it_contributed(indexed):
    runtime, _ = indexed
    backend = runtime.backend
    catalog = 'prod'
    source = CATALOGS[catalog][0]
    [fqid] = [f for f in runtime.repository_plugin(catalog).list_bundles(source).bundles
              if f.uuid.startswith('cc0b5aa4')]
    raw = json.loads(next(p for p in catalog_files(catalog)
                          if p.name.startswith('cc0b5aa4')).read_text())
    files = [key.split('/')[1] for key in raw['manifest']]
    assert all(backend.get_aggregate(catalog, 'files', f) for f in files)
    Indexer(runtime).index_bundles(catalog, source, [fqid], deleted=True)
    assert all(backend.get_aggregate(catalog, 'files', f) is None for f in files)
    assert backend.get_aggregate(catalog, 'bundles', fqid.uuid) is None
    assert backend.get_aggregate(catalog, 'projects', _project_id(raw)) is None
    # a deletion is final for its version: the same version added again stays deleted
    Indexer(runtime).index_bundles(catalog, source, [BundleFQID(fqid.uuid, fqid.version)])
    assert backend.get_aggregate(catalog, 'bundles', fqid.uuid) is None


def _all(backend, catalog, entity_type):
    from azul.core.filters import Filters
    return [json.dumps(d, sort_keys=True) for d in backend.scan(catalog, entity_type, Filters())]


def test_reindex_in_worker_processes_builds_the_same_index(indexed, tmp_path):
    # The same catalog reindexed by two spawned worker processes, in chunks of
    # seven bundles that complete in any order, into a deployment of its own:
    # every document equals the one-process build (whose values the tests
    # above check against the raw bundles)
    runtime, reports = indexed
    catalog = 'dss'
    kind = type(runtime.backend).__name__.removesuffix('Backend').lower()
    backend = make_backend(kind, tmp_path, 't' + uuid.uuid4().hex[:10])
    try:
        parallel = Runtime(runtime.config, backend=backend)
        report = reindex(parallel, catalog, workers=2, chunk_size=7)
        assert report.to_json() == reports[catalog].to_json()
        for entity_type in ('projects', 'files', 'samples', 'bundles', 'donors'):
            assert _all(backend, catalog, entity_type) == \
                _all(runtime.backend, catalog, entity_type), entity_type
    finally:
        backend.drop_deployment()
        backend.close()
