"""The canned repository on the AnVIL fixture bundles (`<uuid>.tdr.anvil.json`)."""
import json
import shutil

import pytest
from anvil_tables import ANVIL_DIR, ANVIL_TABLES, FakeDUOS, InMemoryAnvilTables
from tdr_tables import load_tables

from azul.core.documents import BundleFQID
from azul.errors import NotFoundError, RepositoryError
from azul.plugins.repository.canned import CannedRepository
from azul.plugins.repository.tdr.anvil_bundles import build_bundle

# All AnVIL bundles have this version (fixtures README §6.2), read here from
# the README's wording rather than from the code under test
VERSION = '2022-06-01T00:00:00.000000Z'
FILES = sorted(ANVIL_DIR.glob('*.tdr.anvil.json'))


@pytest.fixture
def repo() -> CannedRepository:
    return CannedRepository()


def test_lists_the_three_bundles(repo):
    listing = repo.list_bundles(f'file://{ANVIL_DIR}')
    assert len(FILES) == 3
    assert listing.bundles == tuple(BundleFQID(path.name.split('.')[0], VERSION)
                                    for path in FILES)
    # The snapshot's tables file lies beside them and is no bundle
    assert [problem.location for problem in listing.problems] == [str(ANVIL_TABLES)]
    glob = repo.list_bundles(f'file://{ANVIL_DIR}/*.tdr.anvil.json')
    assert glob.bundles == listing.bundles and glob.problems == ()
    assert repo.list_bundles(f'file://{ANVIL_DIR}', prefix='8').bundles == \
        (BundleFQID('826dea02-e274-affe-aabc-eb3db63ad068', VERSION),)


@pytest.mark.parametrize('path', FILES, ids=lambda path: path.name)
def test_fetch_gives_the_decided_shape(repo, path):
    document = json.loads(path.read_text())
    source = f'file://{ANVIL_DIR}'
    fqid = BundleFQID(path.name.split('.')[0], VERSION)
    bundle = repo.fetch_bundle(source, fqid)
    assert bundle.fqid == fqid
    assert bundle.source == source
    assert bundle.metadata == document['entities']
    assert bundle.links == {'links': document['links']}
    assert bundle.manifest == {}
    assert bundle.stitched == frozenset()
    assert bundle.kind == 'tdr'


@pytest.mark.parametrize('path', FILES, ids=lambda path: path.name)
def test_canned_equals_built_from_tables(repo, path):
    # Both backends of an AnVIL catalog hand the metadata plugin the same bundle
    fqid = BundleFQID(path.name.split('.')[0], VERSION)
    canned = repo.fetch_bundle(f'file://{ANVIL_DIR}', fqid)
    [dataset] = json.loads((ANVIL_DIR / '2370f948-2783-aeb6-afea-e022897f4dcf.tdr.anvil.json')
                           .read_text())['entities'].values()
    built = build_bundle(InMemoryAnvilTables(load_tables(ANVIL_TABLES)), 'tables',
                         fqid.uuid, fqid.version, FakeDUOS(dataset['description']))
    assert (built.metadata, built.links, built.manifest, built.stitched, built.kind) == \
        (canned.metadata, canned.links, canned.manifest, canned.stitched, canned.kind)


def test_other_versions_are_not_found(repo):
    with pytest.raises(NotFoundError):
        repo.fetch_bundle(f'file://{ANVIL_DIR}',
                          BundleFQID('826dea02-e274-affe-aabc-eb3db63ad068',
                                     '2022-06-02T00:00:00.000000Z'))


def test_malformed_anvil_file(repo, tmp_path):
    name = '826dea02-e274-affe-aabc-eb3db63ad068.tdr.anvil.json'
    shutil.copy(ANVIL_DIR / name, tmp_path / name)
    document = json.loads((tmp_path / name).read_text())
    document['links'] = {}
    (tmp_path / name).write_text(json.dumps(document))
    # Listed by name, refused when fetched, naming the file
    [fqid] = repo.list_bundles(f'file://{tmp_path}').bundles
    with pytest.raises(RepositoryError, match=f'{name}.*links'):
        repo.fetch_bundle(f'file://{tmp_path}', fqid)
