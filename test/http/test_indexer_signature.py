"""Notifications to a deployment with AZUL_INDEXER_HMAC_KEY must be signed."""
import json

import attrs
import pytest
from chalice.test import Client
from test_local_server import BUNDLE, SOURCE, config

from azul.adapters.server import load_app
from azul.indexer.signature import sign
from azul.runtime import Runtime

KEY = 's3cr3t'


@pytest.fixture
def client(tmp_path):
    cfg = attrs.evolve(config('duckdb', tmp_path, 'tsig', None), indexer_hmac_key=KEY)
    yield from _client(Runtime(cfg))


def _client(runtime):
    module = load_app('indexer')
    module.set_runtime(runtime)
    try:
        with Client(module.app) as client:
            yield client, runtime
    finally:
        module.set_runtime(None)
        runtime.close()


BODY = json.dumps({'bundle_fqid': {**BUNDLE, 'source': {'id': 's', 'spec': SOURCE}}}).encode()


def post(client, signature=None, body=BODY):
    headers = {'Content-Type': 'application/json'}
    if signature is not None:
        headers['signature'] = signature
    return client.http.post('/live/add', headers=headers, body=body)


def test_signed_notification_is_queued(client):
    client, runtime = client
    response = post(client, sign(KEY, 'POST', '/live/add', BODY))
    assert response.status_code == 202, response.body
    assert runtime.queue.counts()['notifications']['queued'] == 1


@pytest.mark.parametrize('signature, message', [
    (None, 'Missing `signature` header'),
    ('00' * 32, 'Invalid `signature` header'),
    (sign('other key', 'POST', '/live/add', BODY), 'Invalid `signature` header'),
    (sign(KEY, 'POST', '/live/delete', BODY), 'Invalid `signature` header'),
])
def test_unsigned_or_badly_signed_notifications_are_refused(client, signature, message):
    client, runtime = client
    response = post(client, signature)
    assert response.status_code == 401
    body = json.loads(response.body)
    assert body['Code'] == 'UnauthorizedError'
    assert message in body['Message']
    assert runtime.queue.counts() == {}


def test_tampered_body_is_refused(client):
    client, runtime = client
    signature = sign(KEY, 'POST', '/live/add', BODY)
    tampered = BODY.replace(b'add', b'ad').replace(BUNDLE['version'].encode(),
                                                   b'2020-01-01T000000.000000Z')
    assert post(client, signature, tampered).status_code == 401
