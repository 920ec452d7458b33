"""The canned repository plugin, on the real fixture bundles."""
import functools
import http.server
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from azul.core.documents import BundleFQID, normalize_version
from azul.errors import NotFoundError, RepositoryError
from azul.plugins.repository.base import BundleProblem
from azul.plugins.repository.canned import CannedRepository

_bundle_suffixes = ('.dss.hca.json', '.tdr.hca.json')


@pytest.fixture(scope='module')
def indexer_dir(fixtures_dir) -> Path:
    return fixtures_dir / 'hca' / 'bundles' / 'indexer'


@pytest.fixture
def repo() -> CannedRepository:
    return CannedRepository()


def newest_date(path: Path) -> str:
    """Independent reading of the derived-version rule, straight from the raw JSON."""
    dates = []
    for doc in json.loads(path.read_text())['metadata'].values():
        if 'hca_ingest' in doc:
            dates += [doc['hca_ingest'].get('updateDate'), doc['hca_ingest'].get('submissionDate')]
        else:
            dates += [doc['provenance'].get('update_date'),
                      doc['provenance'].get('submission_date')]
    return max(normalize_version(d) for d in dates if d)


def test_glob_lists_every_dss_bundle(repo, indexer_dir):
    listing = repo.list_bundles(f'file://{indexer_dir}/*.dss.hca.json')
    files = sorted(indexer_dir.glob('*.dss.hca.json'))
    assert len(files) == 50
    assert listing.problems == ()
    assert len(listing.bundles) == len(files)
    assert listing.bundles == tuple(sorted(listing.bundles))
    assert {b.uuid for b in listing.bundles} == {f.name[:36] for f in files}


def test_versions_from_names_and_content(repo, indexer_dir):
    listing = repo.list_bundles(f'file://{indexer_dir}/*.dss.hca.json')
    versions = {}
    for b in listing.bundles:
        versions.setdefault(b.uuid, set()).add(b.version)
    # Versions in the file names
    assert versions['aaa96233-bf27-44c7-82df-b4dc15ad4d9d'] == {
        '2018-11-02T11:33:44.698028Z', '2018-11-04T11:33:44.698028Z'}
    assert versions['79fa91b4-f1fc-534b-a935-b57342804a70'] == {'2020-12-10T10:30:00.000000Z'}
    # Derived from the content: the newest date over all documents
    for path in indexer_dir.glob('*.dss.hca.json'):
        if path.name.count('.') == 3:
            assert versions[path.name[:36]] == {newest_date(path)}, path.name
    # Read from the file: the newest hca_ingest date of v5 bundle 17a3d288 is the
    # updateDate "2018-03-27T13:10:48.960Z" of process 7d3747dc
    assert versions['17a3d288-01a0-464a-9599-7375fda3353d'] == {'2018-03-27T13:10:48.960000Z'}


def test_compact_dss_versions_are_normalized(repo, fixtures_dir):
    prod = fixtures_dir / 'hca' / 'bundles' / 'cans' / 'prod'
    listing = repo.list_bundles(f'file://{prod}')
    assert listing.problems == ()
    assert BundleFQID('b2216048-7eaa-45f4-8077-5a3fb4204953',
                      '2018-03-29T14:20:48.835519Z') in listing.bundles
    assert len(listing.bundles) == len(list(prod.glob('*.json')))


def test_duplicate_uuid_and_version_names_both_files(repo, indexer_dir):
    # The DSS and TDR forms of 1b6d8348 derive the same version from their content
    listing = repo.list_bundles(f'file://{indexer_dir}')
    dss = f'{indexer_dir}/1b6d8348-d6e9-406a-aa6a-7ee886e52bf9.dss.hca.json'
    tdr = f'{indexer_dir}/1b6d8348-d6e9-406a-aa6a-7ee886e52bf9.tdr.hca.json'
    assert [p.location for p in listing.problems] == [dss, tdr]
    for problem in listing.problems:
        assert dss in problem.reason and tdr in problem.reason
    assert not any(b.uuid.startswith('1b6d8348') for b in listing.bundles)
    # Both skipped, the other 52 - 2 files listed
    assert len(listing.bundles) == 50
    # The newest date of the TDR bundle 4426adc5 is written with a UTC offset,
    # "2020-08-10T14:24:26.174274-07:00"; the fixtures README pairs it with this version
    assert BundleFQID('4426adc5-b3c5-5aab-ab86-51d8ce44dfbe',
                      '2020-08-10T21:24:26.174274Z') in listing.bundles


def test_problems_are_reported_and_skipped(repo, tmp_path, indexer_dir):
    good = indexer_dir / 'ffac201f-4b1c-4455-bd58-19c1a9e863b4.dss.hca.json'
    shutil.copy(good, tmp_path / good.name)
    raw = json.loads(good.read_text())
    (tmp_path / '00000000-0000-4000-8000-000000000001.dss.hca.json').write_text('{"manifest": ')
    no_project = {**raw, 'metadata': {k: v for k, v in raw['metadata'].items()
                                      if not k.startswith('project/')}}
    (tmp_path / '00000000-0000-4000-8000-000000000002.hca.json').write_text(
        json.dumps(no_project))
    two_projects = {**raw, 'metadata': {**raw['metadata'], 'project/x': {}}}
    (tmp_path / '00000000-0000-4000-8000-000000000003.tdr.hca.json').write_text(
        json.dumps(two_projects))
    (tmp_path / '00000000-0000-4000-8000-000000000004.dss.hca.json').write_text(
        json.dumps({'manifest': {}, 'metadata': {}}))
    (tmp_path / 'stats.json').write_text('{}')
    (tmp_path / '00000000-0000-4000-8000-000000000005.2018-13-45T000000.000000Z.json').write_text(
        '{}')
    (tmp_path / 'notes.txt').write_text('not a bundle')
    listing = repo.list_bundles(f'file://{tmp_path}')
    assert listing.bundles == (BundleFQID(good.name[:36], newest_date(good)),)
    reasons = {Path(p.location).name: p.reason for p in listing.problems}
    assert reasons.keys() == {
        '00000000-0000-4000-8000-000000000001.dss.hca.json',
        '00000000-0000-4000-8000-000000000002.hca.json',
        '00000000-0000-4000-8000-000000000003.tdr.hca.json',
        '00000000-0000-4000-8000-000000000004.dss.hca.json',
        'stats.json',
        '00000000-0000-4000-8000-000000000005.2018-13-45T000000.000000Z.json',
    }
    assert reasons['00000000-0000-4000-8000-000000000001.dss.hca.json'].startswith('Bad JSON')
    assert 'no project' in reasons['00000000-0000-4000-8000-000000000002.hca.json']
    assert '2 projects' in reasons['00000000-0000-4000-8000-000000000003.tdr.hca.json']
    assert "'links'" in reasons['00000000-0000-4000-8000-000000000004.dss.hca.json']
    assert 'File name' in reasons['stats.json']
    assert 'Invalid bundle version' in reasons[
        '00000000-0000-4000-8000-000000000005.2018-13-45T000000.000000Z.json']


def test_versioned_file_is_not_read_when_listing(repo, tmp_path):
    # The name carries the version, so listing never parses the (bad) content;
    # the problem surfaces on fetch, naming the file
    name = '00000000-0000-4000-8000-000000000001.2019-01-01T000000.000000Z.json'
    (tmp_path / name).write_text('not json')
    listing = repo.list_bundles(f'file://{tmp_path}')
    fqid = BundleFQID('00000000-0000-4000-8000-000000000001', '2019-01-01T00:00:00.000000Z')
    assert listing.bundles == (fqid,) and listing.problems == ()
    with pytest.raises(RepositoryError, match=name):
        repo.fetch_bundle(f'file://{tmp_path}', fqid)


def test_listing_is_cached_until_the_directory_changes(repo, tmp_path, indexer_dir):
    first = indexer_dir / 'ffac201f-4b1c-4455-bd58-19c1a9e863b4.dss.hca.json'
    shutil.copy(first, tmp_path / first.name)
    source = f'file://{tmp_path}'
    listing = repo.list_bundles(source)
    assert repo.list_bundles(source) is listing
    second = indexer_dir / 'cfab8304-dc9f-439e-af29-f8eb75b0729d.dss.hca.json'
    shutil.copy(second, tmp_path / second.name)
    # Some file systems have a coarse mtime; make sure the directory's changes
    os.utime(tmp_path, ns=(time.time_ns(), time.time_ns() + 10 ** 9))
    assert {b.uuid for b in repo.list_bundles(source).bundles} == {first.name[:36],
                                                                   second.name[:36]}


def test_partitions_cover_the_source(repo, indexer_dir):
    source = f'file://{indexer_dir}/*.dss.hca.json'
    everything = repo.list_bundles(source).bundles
    parts = [repo.list_bundles(source, prefix).bundles for prefix in repo.partitions(source)]
    assert sorted(b for part in parts for b in part) == sorted(everything)
    assert all(b.uuid.startswith('0') for b in repo.list_bundles(source, '0').bundles)
    assert {b.uuid[:2] for b in repo.list_bundles(source, '0').bundles} == {'00', '02', '04',
                                                                             '07'}


def test_fetch_bundle_returns_the_file_as_is(repo, indexer_dir):
    path = indexer_dir / 'fce68057-b0f0-5d11-b9a7-30e8fa3259a8.dss.hca.json'
    raw = json.loads(path.read_text())
    source = f'file://{indexer_dir}/*.dss.hca.json'
    fqid = BundleFQID(path.name[:36], newest_date(path))
    bundle = repo.fetch_bundle(source, fqid)
    assert bundle.fqid == fqid and bundle.source == source
    assert bundle.manifest == raw['manifest']
    assert bundle.metadata == raw['metadata']
    assert bundle.links == raw['links']
    assert bundle.stitched == frozenset(raw['stitched']) and len(bundle.stitched) == 610


def test_fetch_accepts_the_compact_version_spelling(repo, fixtures_dir):
    prod = fixtures_dir / 'hca' / 'bundles' / 'cans' / 'prod'
    bundle = repo.fetch_bundle(f'file://{prod}', BundleFQID(
        'b2216048-7eaa-45f4-8077-5a3fb4204953', '2018-03-29T142048.835519Z'))
    assert bundle.fqid.version == '2018-03-29T14:20:48.835519Z'
    assert bundle.stitched == frozenset()


def test_fetch_unknown_bundle(repo, indexer_dir):
    source = f'file://{indexer_dir}/*.dss.hca.json'
    with pytest.raises(NotFoundError):
        repo.fetch_bundle(source, BundleFQID('00000000-0000-4000-8000-000000000000',
                                             '2020-01-01T00:00:00.000000Z'))
    with pytest.raises(NotFoundError):
        # Right uuid, wrong version
        repo.fetch_bundle(source, BundleFQID('aaa96233-bf27-44c7-82df-b4dc15ad4d9d',
                                             '2018-11-03T11:33:44.698028Z'))
    with pytest.raises(NotFoundError):
        repo.fetch_bundle(source, BundleFQID('aaa96233-bf27-44c7-82df-b4dc15ad4d9d', 'bad'))


def test_fetch_does_not_list_the_directory(repo, tmp_path, indexer_dir, monkeypatch):
    # Issue 16: a fetch listed the whole directory (2 s per bundle at 100k
    # files). A bundle written after the last listing is found all the same.
    versioned = indexer_dir / ('aaa96233-bf27-44c7-82df-b4dc15ad4d9d.'
                               '2018-11-02T11:33:44.698028Z.dss.hca.json')
    shutil.copy(versioned, tmp_path / versioned.name)
    source = f'file://{tmp_path}'
    repo.list_bundles(source)
    unversioned = indexer_dir / 'fce68057-b0f0-5d11-b9a7-30e8fa3259a8.dss.hca.json'
    # Stored with the compact spelling of the date, as DSS names them
    compact = tmp_path / 'ffac201f-4b1c-4455-bd58-19c1a9e863b4.2019-01-01T000000Z.json'
    shutil.copy(indexer_dir / 'ffac201f-4b1c-4455-bd58-19c1a9e863b4.dss.hca.json', compact)
    shutil.copy(unversioned, tmp_path / unversioned.name)

    def no_listing(*args, **kwargs):
        raise AssertionError('the directory was listed')

    monkeypatch.setattr(os, 'scandir', no_listing)
    monkeypatch.setattr(os, 'listdir', no_listing)
    bundle = repo.fetch_bundle(source, BundleFQID(versioned.name[:36],
                                                  '2018-11-02T11:33:44.698028Z'))
    assert bundle.fqid.version == '2018-11-02T11:33:44.698028Z'
    bundle = repo.fetch_bundle(source, BundleFQID(compact.name[:36],
                                                  '2019-01-01T00:00:00.000000Z'))
    assert bundle.kind == 'dss'
    # A name without a version holds the bundle whose version its content gives
    bundle = repo.fetch_bundle(source, BundleFQID(unversioned.name[:36],
                                                  newest_date(unversioned)))
    assert len(bundle.stitched) == 610
    with pytest.raises(NotFoundError):
        repo.fetch_bundle(source, BundleFQID(unversioned.name[:36],
                                             '2001-01-01T00:00:00.000000Z'))
    with pytest.raises(NotFoundError):
        repo.fetch_bundle(source, BundleFQID('../' + unversioned.name[3:36],
                                             newest_date(unversioned)))


def test_fetch_refuses_a_bundle_in_two_files(repo, tmp_path, indexer_dir):
    # As the listing does (it skips both), a fetch names both files
    original = indexer_dir / 'ffac201f-4b1c-4455-bd58-19c1a9e863b4.dss.hca.json'
    uuid = original.name[:36]
    shutil.copy(original, tmp_path / f'{uuid}.2019-01-01T000000Z.json')
    shutil.copy(original, tmp_path / f'{uuid}.2019-01-01T00:00:00.0Z.dss.hca.json')
    with pytest.raises(RepositoryError, match='more than one file'):
        repo.fetch_bundle(f'file://{tmp_path}', BundleFQID(uuid, '2019-01-01T00:00:00.000000Z'))


def test_file_url(repo, indexer_dir):
    raw = json.loads((indexer_dir / '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9.tdr.hca.json')
                     .read_text())
    entries = list(raw['manifest'].values())
    with_drs = [e for e in entries if e.get('drs_uri')]
    assert with_drs and len(with_drs) == len(entries) - 1
    for entry in with_drs:
        host, _, object_id = entry['drs_uri'][len('drs://'):].partition('/')
        assert (repo.file_url('s', entry)
                == f'https://{host}/ga4gh/drs/v1/objects/{object_id}')
    # The one supplementary file without a DRS object, and a DSS entry
    assert [repo.file_url('s', e) for e in entries if not e.get('drs_uri')] == [None]
    dss = json.loads((indexer_dir / '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9.dss.hca.json')
                     .read_text())
    assert {repo.file_url('s', e) for e in dss['manifest'].values()} == {None}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args):
        pass


@pytest.fixture
def http_dir(tmp_path) -> Iterator[tuple[str, Path]]:
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_port}/bundles', tmp_path
    finally:
        server.shutdown()
        server.server_close()


def test_http_source(repo, http_dir, indexer_dir):
    url, root = http_dir
    directory = root / 'bundles'
    directory.mkdir()
    names = ['17a3d288-01a0-464a-9599-7375fda3353d.dss.hca.json',
             'aaa96233-bf27-44c7-82df-b4dc15ad4d9d.2018-11-04T11:33:44.698028Z.dss.hca.json',
             '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9.tdr.hca.json']
    for name in names:
        shutil.copy(indexer_dir / name, directory / name)
    missing = '00000000-0000-4000-8000-000000000000.dss.hca.json'
    (directory / 'index.json').write_text(json.dumps(names + [missing, 'README.md']))
    listing = repo.list_bundles(url)
    assert listing.bundles == tuple(sorted([
        BundleFQID(names[0][:36], newest_date(directory / names[0])),
        BundleFQID(names[1][:36], '2018-11-04T11:33:44.698028Z'),
        BundleFQID(names[2][:36], newest_date(directory / names[2])),
    ]))
    assert listing.problems == (BundleProblem(f'{url}/{missing}', f'{url}/{missing}: not found'),)
    bundle = repo.fetch_bundle(url, listing.bundles[0])
    assert bundle.metadata == json.loads((directory / names[0]).read_text())['metadata']
    # A glob narrows the listing of an http source, too
    tdr = repo.list_bundles(f'{url}/*.tdr.hca.json')
    assert [b.uuid for b in tdr.bundles] == [names[2][:36]] and tdr.problems == ()


def test_http_source_without_index(repo, http_dir):
    url, root = http_dir
    (root / 'bundles').mkdir()
    with pytest.raises(NotFoundError):
        repo.list_bundles(url)


def test_bad_source(repo):
    with pytest.raises(RepositoryError):
        repo.list_bundles('s3://bucket/prefix')
    with pytest.raises(RepositoryError):
        repo.list_bundles('file:///no/such/directory')


DATA_UUID = '7b07f99e-4a8a-4ad0-bd4f-db0d7a00c7bb'
DATA_VERSION = '2018-11-02T11:33:44.698028Z'
DATA = b'@SRR3562915.1\nACGT\n+\nIIII\n'
# printf '@SRR3562915.1\nACGT\n+\nIIII\n' | sha256sum
DATA_SHA256 = 'f207ad938875a30ba01aebd19ddd421f2a041c3a4492e6f978529bcf1e2712e8'


def test_file_bytes(repo, tmp_path):
    source = f'file://{tmp_path}/*.dss.hca.json'
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / f'{DATA_UUID}.{DATA_VERSION}').write_bytes(DATA)
    assert repo.file_bytes(source, {'uuid': DATA_UUID, 'version': DATA_VERSION}) == DATA
    # The DSS spelling of the version names the same file
    assert repo.file_bytes(source, {'uuid': DATA_UUID,
                                    'version': '2018-11-02T113344.698028Z'}) == DATA
    assert repo.file_bytes(source, {'uuid': DATA_UUID, 'version': DATA_VERSION,
                                    'sha256': DATA_SHA256.upper()}) == DATA
    other = '00000000-0000-4000-8000-000000000000'
    assert repo.file_bytes(source, {'uuid': other, 'version': DATA_VERSION}) is None
    # Names that could reach outside the directory name nothing
    for bad in ({'uuid': '../data', 'version': DATA_VERSION}, {'uuid': DATA_UUID},
                {'uuid': DATA_UUID, 'version': '../../etc/passwd'},
                {'uuid': DATA_UUID.upper(), 'version': DATA_VERSION}):
        assert repo.file_bytes(source, bad) is None
    # A directory where the file would be is no file
    (tmp_path / 'data' / f'{other}.{DATA_VERSION}').mkdir()
    assert repo.file_bytes(source, {'uuid': other, 'version': DATA_VERSION}) is None
    with pytest.raises(RepositoryError, match='SHA-256'):
        repo.file_bytes(source, {'uuid': DATA_UUID, 'version': DATA_VERSION,
                                 'sha256': '0' * 64})


def test_file_bytes_over_http(repo, http_dir):
    url, root = http_dir
    (root / 'bundles' / 'data').mkdir(parents=True)
    (root / 'bundles' / 'data' / f'{DATA_UUID}.{DATA_VERSION}').write_bytes(DATA)
    assert repo.file_bytes(url, {'uuid': DATA_UUID, 'version': DATA_VERSION,
                                 'sha256': DATA_SHA256}) == DATA
    assert repo.file_bytes(url, {'uuid': DATA_UUID,
                                 'version': '2018-11-02T11:33:44.698029Z'}) is None


def test_what_orjson_refuses_is_read_as_before(repo, tmp_path, indexer_dir):
    # NaN and an integer beyond 64 bits: JSON as Python's standard library reads it
    name = '17a3d288-01a0-464a-9599-7375fda3353d.dss.hca.json'
    raw = json.loads((indexer_dir / name).read_text())
    key = next(k for k in raw['metadata'] if k.startswith('donor_organism/'))
    text = json.dumps(raw).replace(f'"{key}": {{', f'"{key}": {{"x": NaN, "y": {2 ** 70}, ', 1)
    (tmp_path / name).write_text(text)
    source = f'file://{tmp_path}/*.dss.hca.json'
    [fqid] = repo.list_bundles(source).bundles
    document = repo.fetch_bundle(source, fqid).metadata[key]
    assert document['y'] == 2 ** 70
    assert document['x'] != document['x']
    assert {k: v for k, v in document.items() if k not in ('x', 'y')} == raw['metadata'][key]
