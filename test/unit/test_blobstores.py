"""
The BlobStore seam: the local directory store and the S3 store (moto) keep
the same promises: an object appears only when its writer finishes, with its
content type and metadata; a failed writer leaves nothing behind.
"""
import time
import urllib.parse

import boto3
import pytest
from moto import mock_aws

from azul.manifests.blobstore import LocalBlobStore
from azul.manifests.links import BlobLinks
from azul.manifests.s3 import S3BlobStore
from azul.signing import Signer


@pytest.fixture(params=['local', 's3'])
def store(request, tmp_path):
    if request.param == 'local':
        yield LocalBlobStore(tmp_path / 'store', BlobLinks(Signer(b'secret')))
    else:
        with mock_aws():
            client = boto3.client('s3', region_name='us-east-1')
            client.create_bucket(Bucket='manifests')
            yield S3BlobStore(client, 'manifests')


def test_round_trip(store):
    assert store.head('manifests/x.tsv') is None
    assert store.get('manifests/x.tsv') is None
    before = time.time() - 5
    with store.writer('manifests/x.tsv', 'text/tab-separated-values') as writer:
        writer.stream.write(b'a\tb\n')
        writer.metadata['file-name'] = 'Projét 2024-01-01 10.00.tsv'
    info = store.head('manifests/x.tsv')
    assert info.size == 4
    assert info.content_type == 'text/tab-separated-values'
    assert info.metadata == {'file-name': 'Projét 2024-01-01 10.00.tsv'}
    assert info.modified >= before
    assert store.get('manifests/x.tsv') == b'a\tb\n'
    store.delete('manifests/x.tsv')
    assert store.head('manifests/x.tsv') is None


def test_failed_writer_publishes_nothing(store):
    with pytest.raises(RuntimeError):
        with store.writer('manifests/y.tsv', 'text/plain') as writer:
            writer.stream.write(b'partial')
            raise RuntimeError('backend went away')
    assert store.head('manifests/y.tsv') is None
    assert store.get('manifests/y.tsv') is None


def test_failed_rewrite_keeps_the_old_object(store):
    store.put('jobs/j.json', b'{"state": "running"}')
    with pytest.raises(RuntimeError):
        with store.writer('jobs/j.json', 'application/json') as writer:
            writer.stream.write(b'{"sta')
            raise RuntimeError
    assert store.get('jobs/j.json') == b'{"state": "running"}'


def test_download_url_names_the_file(store):
    store.put('manifests/z.tsv', b'z', 'text/plain')
    url = store.url('manifests/z.tsv', 'a b.tsv', 60, 'http://azul.test')
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    if isinstance(store, S3BlobStore):
        assert query['response-content-disposition'] == ["attachment; filename*=UTF-8''a%20b.tsv"]
    else:
        assert url.startswith('http://azul.test/blobs/manifests/z.tsv?')
        assert query['name'] == ['a b.tsv']


def test_local_store_refuses_escaping_keys(tmp_path):
    store = LocalBlobStore(tmp_path, BlobLinks(Signer(b'secret')))
    for key in ('../x', 'a/../../x', '/x', '', 'a//b', '.hidden'):
        with pytest.raises(ValueError):
            store.head(key)

