"""
The manifest protocol with the S3 store of AWS deployments (moto in the
process): the 302 names a presigned URL of the bucket that serves the
manifest with its file name, and nothing partial is left in the bucket when a
job fails.
"""
import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator

import boto3
import pytest
import requests
from moto import mock_aws

from azul.indexer.index import Indexer
from azul.runtime import Runtime
from conftest import CATALOG, SOURCES, ServiceClient, load_app_module, make_config

BUCKET = 'azul-manifests'


@pytest.fixture
def s3_runtime(tmp_path) -> Iterator[Runtime]:
    with mock_aws():
        boto3.client('s3', region_name='us-east-1').create_bucket(Bucket=BUCKET)
        config = make_config('duckdb', tmp_path, 't' + uuid.uuid4().hex[:10],
                             extra_env={'AZUL_MANIFEST_STORE': 's3',
                                        'AZUL_MANIFEST_BUCKET': BUCKET,
                                        'AZUL_MANIFEST_SIGNING_KEY': 'test secret'})
        runtime = Runtime(config)
        indexer = Indexer(runtime)
        indexer.create_indices(CATALOG)
        listing = runtime.repository_plugin(CATALOG).list_bundles(SOURCES[1])
        indexer.index_bundles(CATALOG, SOURCES[1], listing.bundles)
        try:
            yield runtime
        finally:
            runtime.close()


def _prepare(client: ServiceClient, format_name: str) -> dict:
    reply = client.request('PUT', f'/fetch/manifest/files?catalog={CATALOG}&format={format_name}')
    body = reply.json
    for _ in range(100):
        if body['Status'] != 301:
            return body
        time.sleep(0.1)
        body = client.get(body['Location'].removeprefix('http://azul.test')).json
    raise AssertionError(body)


def test_presigned_manifest(s3_runtime):
    client = ServiceClient(load_app_module().create_app(lambda: s3_runtime), s3_runtime)
    done = _prepare(client, 'compact')
    assert done['Status'] == 302
    url = done['Location']
    parts = urllib.parse.urlsplit(url)
    assert parts.netloc.startswith(BUCKET) or parts.path.startswith(f'/{BUCKET}/')
    query = urllib.parse.parse_qs(parts.query)
    disposition = query['response-content-disposition'][0]
    # Named after the short name of the one project of the TDR fixture bundle
    # (its project document's `project_core.project_short_name`)
    assert disposition.startswith("attachment; filename*=UTF-8''Reprogrammed_Dendritic_Cells%20")
    assert disposition.endswith('.tsv')
    # moto answers the presigned URL as S3 would
    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    assert response.content.decode().split('\t')[:2] == ['source_id', 'source_spec']
    assert response.headers['Content-Disposition'] == disposition
    # Cached: the next request is answered from the bucket
    again = client.request('PUT', f'/fetch/manifest/files?catalog={CATALOG}&format=compact')
    assert again.json['Status'] == 302
    objects = boto3.client('s3', region_name='us-east-1').list_objects_v2(Bucket=BUCKET)
    keys = sorted(o['Key'] for o in objects['Contents'])
    assert [k.split('/')[0] for k in keys] == ['jobs', 'manifests']
    record = json.loads(boto3.client('s3', region_name='us-east-1').get_object(
        Bucket=BUCKET, Key=keys[0])['Body'].read())
    assert record['state'] == 'done' and record['format'] == 'compact'


def test_failed_job_leaves_the_bucket_clean(s3_runtime):
    client = ServiceClient(load_app_module().create_app(lambda: s3_runtime), s3_runtime)
    # Occupy the only worker, so that the job waits while the backend goes away
    release = threading.Event()
    s3_runtime.manifests._executor.submit(release.wait)
    reply = client.request('PUT', f'/fetch/manifest/files?catalog={CATALOG}&format=compact')
    assert reply.json['Status'] == 301
    s3_runtime.backend.close()
    release.set()
    for _ in range(100):
        poll = client.get(reply.json['Location'].removeprefix('http://azul.test'))
        if poll.status != 200:
            break
        time.sleep(0.1)
    assert poll.status == 503, poll.body
    assert poll.json['Message'].startswith('Failed to generate manifest')
    objects = boto3.client('s3', region_name='us-east-1').list_objects_v2(Bucket=BUCKET)
    keys = [o['Key'] for o in objects.get('Contents', ())]
    assert [k.split('/')[0] for k in keys] == ['jobs']
