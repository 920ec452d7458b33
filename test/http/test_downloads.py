"""
Downloads of data files (`/repository/files`, the signed `/repository/blobs`
links) and GA4GH DRS (`/ga4gh/drs/v1/objects`), on both backends.

The fixture catalog (`client`) holds no bytes of any file; a catalog of a
canned source in a temporary directory (`canned`) holds a copy of the bundle
of the original's DRS tests, `aaa96233…`, whose file `SRR3562915_1.fastq.gz`
has bytes in `data/`, its manifest entry declaring their size and SHA-256
(`printf '@SRR3562915.1\\nACGT\\n+\\nIIII\\n' | sha256sum`), and whose file
`SRR3562915_2.fastq.gz` has bytes that differ from its declared SHA-256.
"""
import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest

from azul.indexer.index import Indexer
from azul.runtime import Runtime
from azul.service import repository
from azul.service.request import Request
from azul_dev.synth import generate
from conftest import CATALOG, FIXTURES, ServiceClient, catalog_spec, make_config

BUNDLE = 'aaa96233-bf27-44c7-82df-b4dc15ad4d9d.2018-11-02T11:33:44.698028Z.dss.hca.json'
FILE = '7b07f99e-4a8a-4ad0-bd4f-db0d7a00c7bb'
VERSION = '2018-11-02T11:33:44.698028Z'
NAME = 'SRR3562915_1.fastq.gz'
CONTENT = b'@SRR3562915.1\nACGT\n+\nIIII\n'
SHA256 = 'f207ad938875a30ba01aebd19ddd421f2a041c3a4492e6f978529bcf1e2712e8'
# The fixture catalog's version of the file, from the bundle's newer version
NEWEST = '2018-11-04T11:33:44.698028Z'
CORRUPT = '74897eb7-0701-4e4f-9e6b-8b9521b2816b'
CORRUPT_VERSION = '2018-11-02T11:33:44.450442Z'
UNKNOWN = '00000000-0000-4000-8000-000000000000'
# Chalice answers a binary body only to a request that accepts one, as API
# Gateway does; curl, wget, browsers and requests send `*/*`
ACCEPT = {'Accept': '*/*'}


@pytest.fixture(scope='module')
def canned(indexed, app_module, tmp_path_factory) -> Iterator[ServiceClient]:
    directory = tmp_path_factory.mktemp('canned')
    bundle = json.loads((FIXTURES / 'hca/bundles/indexer' / BUNDLE).read_text())
    entry = bundle['manifest']['sequence_file/0c5ac7c0-817e-40d4-b1b1-34c3d5cfecdb']
    assert entry['uuid'] == FILE and entry['version'] == VERSION
    entry.update(size=len(CONTENT), sha256=SHA256)
    (directory / BUNDLE).write_text(json.dumps(bundle))
    data = directory / 'data'
    data.mkdir()
    (data / f'{FILE}.{VERSION}').write_bytes(CONTENT)
    (data / f'{CORRUPT}.{CORRUPT_VERSION}').write_bytes(b'not the declared bytes')
    source = f'file://{directory}'
    yield from _served(indexed.kind, directory, source, app_module, bundles=1)


@pytest.fixture(scope='module')
def synthetic(indexed, app_module, tmp_path_factory) -> Iterator[ServiceClient]:
    """A catalog of a few synthetic bundles, as `make run` generates them."""
    directory = tmp_path_factory.mktemp('synth')
    generate(6, directory / 'bundles', seed=3)
    source = f'file://{directory}/bundles/*-*.json'
    yield from _served(indexed.kind, directory, source, app_module)


def _served(kind: str, directory, source: str, app_module,
            bundles: int | None = None) -> Iterator[ServiceClient]:
    """A client of a catalog of one canned source, indexed on the given backend."""
    config = make_config(kind, directory / 'state', 't' + uuid.uuid4().hex[:10],
                         catalogs={CATALOG: catalog_spec([source])})
    runtime = Runtime(config)
    try:
        indexer = Indexer(runtime)
        indexer.create_indices(CATALOG)
        listing = runtime.repository_plugin(CATALOG).list_bundles(source)
        assert listing.bundles and not listing.problems
        assert bundles is None or len(listing.bundles) == bundles
        indexer.index_bundles(CATALOG, source, listing.bundles)
        yield ServiceClient(app_module.create_app(lambda: runtime), runtime)
    finally:
        runtime.backend.drop_deployment()
        runtime.close()


def _relative(location: str) -> str:
    prefix = 'http://azul.test'
    assert location.startswith(prefix + '/'), location
    return location[len(prefix):]


def test_file_without_bytes_is_404(client):
    message = (f"The repository holds no bytes of file '{FILE}' version '{NEWEST}' "
               f"('{NAME}') in catalog 'dcp'")
    for prefix in ('', '/fetch'):
        reply = client.get(f'{prefix}/repository/files/{FILE}?version={NEWEST}')
        assert reply.status == 404, reply.body
        assert reply.json == {'Code': 'NotFoundError', 'Message': message}
    # Without a version, the newest (and only) version is meant
    reply = client.get(f'/repository/files/{FILE}')
    assert reply.status == 404 and reply.json['Message'] == message
    # A name of the client's choosing is the one named
    reply = client.get(f'/repository/files/{FILE}?fileName=reads.fastq.gz')
    assert reply.json['Message'] == (f"The repository holds no bytes of file '{FILE}' version "
                                     f"'{NEWEST}' ('reads.fastq.gz') in catalog 'dcp'")


def test_related_file_without_bytes_is_404(client):
    # As the curl manifest names a member of a zarr store: not looked up in the index
    drs_uri = f'drs://127.0.0.1:8000/{UNKNOWN}?version=2020-01-01T00%3A00%3A00.000000Z'
    query = urlencode({'requestIndex': '1', 'version': '2020-01-01T00:00:00.000000Z',
                       'fileName': 'store.zarr/.zgroup', 'drsUri': drs_uri})
    reply = client.get(f'/repository/files/{UNKNOWN}?{query}')
    assert reply.status == 404
    assert reply.json == {'Code': 'NotFoundError', 'Message': (
        f"The repository holds no bytes of file '{UNKNOWN}' version "
        f"'2020-01-01T00:00:00.000000Z' ('store.zarr/.zgroup') in catalog 'dcp'")}
    reply = client.get(f'/repository/files/{UNKNOWN}?requestIndex=1&fileName=x')
    assert reply.status == 400
    assert reply.json == {'Code': 'BadRequestError', 'Message': 'A `requestIndex` above 0 '
                          'requires the `version` and `fileName` parameters'}


def test_download(canned):
    reply = canned.get(f'/repository/files/{FILE}?version={VERSION}')
    assert reply.status == 302, reply.body
    assert reply.header('Content-Disposition') == (
        'attachment; filename="SRR3562915_1.fastq.gz"; '
        "filename*=UTF-8''SRR3562915_1.fastq.gz")
    location = reply.header('Location')
    url = urlsplit(location)
    assert (url.scheme, url.netloc, url.path) == ('http', 'azul.test',
                                                  f'/repository/blobs/{FILE}')
    query = dict(parse_qsl(url.query))
    assert set(query) == {'catalog', 'version', 'fileName', 'expires', 'signature'}
    assert (query['catalog'], query['version'], query['fileName']) == ('dcp', VERSION, NAME)
    # Valid for an hour
    assert 3590 < int(query['expires']) - time.time() <= 3600
    blob = canned.get(_relative(location), headers=ACCEPT)
    assert blob.status == 200
    assert blob.body == CONTENT
    assert blob.header('Content-Type') == 'application/octet-stream'
    assert blob.header('Content-Disposition') == reply.header('Content-Disposition')
    # The JSON twin names the same kind of link
    fetched = canned.get_json(f'/fetch/repository/files/{FILE}')
    assert set(fetched) == {'Status', 'Location'} and fetched['Status'] == 302
    assert urlsplit(fetched['Location']).path == f'/repository/blobs/{FILE}'
    assert canned.get(_relative(fetched['Location']), headers=ACCEPT).body == CONTENT


def test_download_under_another_name(canned):
    reply = canned.get(f'/repository/files/{FILE}?fileName=r%C3%A9ads%20%221%22.fq.gz')
    assert reply.status == 302
    expected = ('attachment; filename="r_ads _1_.fq.gz"; '
                "filename*=UTF-8''r%C3%A9ads%20%221%22.fq.gz")
    assert reply.header('Content-Disposition') == expected
    blob = canned.get(_relative(reply.header('Location')), headers=ACCEPT)
    assert blob.body == CONTENT and blob.header('Content-Disposition') == expected


def test_related_file_download(canned):
    # Named by the request alone, as the curl manifest names related files
    drs_uri = f'drs://127.0.0.1:8000/{FILE}?version={quote(VERSION, safe="")}'
    query = urlencode({'requestIndex': '1', 'version': VERSION,
                       'fileName': 'store.zarr/0.0', 'drsUri': drs_uri})
    reply = canned.get(f'/repository/files/{FILE}?{query}')
    assert reply.status == 302
    blob = canned.get(_relative(reply.header('Location')), headers=ACCEPT)
    assert blob.body == CONTENT
    assert blob.header('Content-Disposition') == (
        "attachment; filename=\"store.zarr/0.0\"; filename*=UTF-8''store.zarr%2F0.0")


def test_bytes_that_differ_from_the_checksum_are_not_served(canned):
    reply = canned.get(f'/repository/files/{CORRUPT}')
    assert reply.status == 502
    assert reply.json['Code'] == 'BadGatewayError'


def test_links_cannot_be_altered(canned):
    location = canned.get(f'/repository/files/{FILE}').header('Location')
    path = _relative(location)
    url = urlsplit(path)
    query = dict(parse_qsl(url.query))

    def get(**changes):
        params = {k: v for k, v in {**query, **changes}.items() if v is not None}
        return canned.get(f'{url.path}?{urlencode(params)}', headers=ACCEPT)

    forbidden = {'Code': 'ForbiddenError', 'Message': 'The signature of the link is invalid'}
    # Another name, a later expiry, another signature
    for changes in ({'fileName': 'other.txt'},
                    {'expires': str(int(query['expires']) + 1)},
                    {'signature': '0' * 64},
                    {'version': '2018-11-02T11:33:44.698029Z'}):
        reply = get(**changes)
        assert (reply.status, reply.json) == (403, forbidden), changes
    # Another file
    reply = canned.get(path.replace(FILE, CORRUPT), headers=ACCEPT)
    assert (reply.status, reply.json) == (403, forbidden)
    # Without an expiry or a signature: not a link at all
    assert get(signature=None).json == {'Code': 'BadRequestError',
                                        'Message': 'The link lacks the `signature` parameter'}
    assert get(expires=None).status == 400
    assert get(expires='soon').json == {'Code': 'BadRequestError',
                                        'Message': 'The link lacks a valid `expires` parameter'}
    # The parameters in another order, or encoded differently, are the same link
    reordered = urlencode(dict(reversed(list(query.items()))), quote_via=quote)
    assert canned.get(f'{url.path}?{reordered}', headers=ACCEPT).body == CONTENT


def test_expired_link(canned):
    catalog = canned.runtime.config.default_catalog
    file = repository.find_file(canned.runtime, catalog, FILE, None,
                                readable=frozenset(catalog.sources))
    request = Request(method='GET', path='/', headers={'host': 'azul.test'})
    an_hour_and_a_second_ago = time.time() - 3601
    location = repository.blob_url(canned.runtime, request, file, NAME,
                                   now=an_hour_and_a_second_ago)
    reply = canned.get(_relative(location), headers=ACCEPT)
    assert reply.status == 403
    assert reply.json == {'Code': 'ForbiddenError', 'Message': 'The link has expired'}


def test_every_synthetic_file_downloads(synthetic):
    hits = synthetic.get_json('/index/files?size=1000')['hits']
    files = [f for hit in hits for f in hit['files']]
    assert len(files) > 20
    for file in files:
        url = urlsplit(file['url'])
        reply = synthetic.get(f'{url.path}?{url.query}')
        assert reply.status == 302, (file, reply.body)
        blob = synthetic.get(_relative(reply.header('Location')), headers=ACCEPT)
        assert blob.status == 200
        assert len(blob.body) == file['size']
        assert hashlib.sha256(blob.body).hexdigest() == file['sha256']
        # and the DRS object of the file gives the same bytes
        drs = synthetic.get_json(f'/ga4gh/drs/v1/objects/{file["uuid"]}')
        (method,) = drs['access_methods']
        access = synthetic.get(_relative(method['access_url']['url']), headers=ACCEPT)
        assert access.body == blob.body


def test_binary_response_needs_accept(canned):
    location = canned.get(f'/repository/files/{FILE}').header('Location')
    # Chalice's rule, and API Gateway's: no Accept, no binary body
    assert canned.get(_relative(location)).status == 400
    reply = canned.get(_relative(location), headers={'Accept': 'application/octet-stream'})
    assert reply.body == CONTENT


def test_drs_object(canned):
    reply = canned.get(f'/ga4gh/drs/v1/objects/{FILE}?version={VERSION}')
    assert reply.status == 200, reply.body
    body = reply.json
    (method,) = body.pop('access_methods')
    assert body == {
        'id': FILE,
        'self_uri': f'drs://127.0.0.1:8000/{FILE}?version=2018-11-02T11%3A33%3A44.698028Z',
        'name': NAME,
        'size': 26,
        'created_time': VERSION,
        'version': VERSION,
        'mime_type': 'application/gzip',
        'checksums': [{'checksum': SHA256, 'type': 'sha-256'},
                      {'checksum': '1d998e49', 'type': 'crc32c'}],
    }
    assert set(method) == {'type', 'access_url'} and method['type'] == 'https'
    url = method['access_url']['url']
    assert urlsplit(url).path == f'/repository/blobs/{FILE}'
    assert canned.get(_relative(url), headers=ACCEPT).body == CONTENT
    # Without a version, the newest; by access id, the same kind of URL
    assert canned.get_json(f'/ga4gh/drs/v1/objects/{FILE}')['version'] == VERSION
    access = canned.get_json(f'/ga4gh/drs/v1/objects/{FILE}/access/https')
    assert list(access) == ['url']
    assert canned.get(_relative(access['url']), headers=ACCEPT).body == CONTENT


def test_drs_object_without_bytes(client):
    # The DSS-style `drs_uri` of the fixture file, as a DRS client resolves it
    hits = client.get_json('/index/files?' + urlencode(
        {'filters': json.dumps({'fileId': {'is': [FILE]}})}))['hits']
    (file,) = hits[0]['files']
    assert file['drs_uri'] == (f'drs://127.0.0.1:8000/{FILE}'
                               f'?version=2018-11-04T11%3A33%3A44.698028Z')
    reply = client.get(f'/ga4gh/drs/v1/objects/{FILE}?version=2018-11-04T11%3A33%3A44.698028Z')
    assert reply.status == 200
    assert reply.json == {
        'id': FILE,
        'self_uri': f'drs://127.0.0.1:8000/{FILE}?version=2018-11-04T11%3A33%3A44.698028Z',
        'name': NAME,
        'size': 195142097,
        'created_time': NEWEST,
        'version': NEWEST,
        'mime_type': 'application/gzip',
        'checksums': [{'checksum': '77337cb51b2e584b5ae1b99db6c163b988cbc5b8'
                                   '94dda2f5d22424978c3bfc7a', 'type': 'sha-256'},
                      {'checksum': '1d998e49', 'type': 'crc32c'}],
        'access_methods': [],
    }
    reply = client.get(f'/ga4gh/drs/v1/objects/{FILE}/access/https')
    assert (reply.status, reply.json) == (404, {
        'msg': f"The repository holds no bytes of DRS object '{FILE}'", 'status_code': 404})


@pytest.mark.parametrize('path, status, msg', [
    (f'/ga4gh/drs/v1/objects/{UNKNOWN}', 404, f"No DRS object '{UNKNOWN}'"),
    (f'/ga4gh/drs/v1/objects/{FILE}?version=2000-01-01T00:00:00.000000Z', 404,
     f"No DRS object '{FILE}' of version '2000-01-01T00:00:00.000000Z'"),
    (f'/ga4gh/drs/v1/objects/{UNKNOWN}/access/https', 404, f"No DRS object '{UNKNOWN}'"),
    ('/ga4gh/drs/v1/objects/foo', 400,
     "Invalid DRS object id 'foo': expected the uuid of a data file"),
    (f'/ga4gh/drs/v1/objects/{FILE.upper()}', 400,
     f"Invalid DRS object id '{FILE.upper()}': expected the uuid of a data file"),
    (f'/ga4gh/drs/v1/objects/{FILE}?version=yesterday', 400, 'Invalid value for `version`'),
    (f'/ga4gh/drs/v1/objects/{FILE}?bogus=1', 400, 'Unknown query parameter `bogus`'),
    (f'/ga4gh/drs/v1/objects/{FILE}/access/gs', 400, 'Invalid DRS access ID'),
])
def test_drs_errors(client, path, status, msg):
    reply = client.get(path)
    assert (reply.status, reply.json) == (status, {'msg': msg, 'status_code': status})
