"""Notifications to a deployment with AZUL_INDEXER_HMAC_KEY must be signed, recently."""
import json
import time

import attrs
import pytest
from chalice.test import Client
from test_local_server import BUNDLE, SOURCE, config

from azul.adapters.server import load_app
from azul.indexer.signature import sign, signed_headers
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


def post(client, signature=None, body=BODY, timestamp=None):
    headers = {'Content-Type': 'application/json'}
    if signature is not None:
        headers['signature'] = signature
    if timestamp is not None:
        headers['signature-timestamp'] = str(timestamp)
    return client.http.post('/live/add', headers=headers, body=body)


def refused(response, message) -> None:
    assert response.status_code == 401, response.body
    body = json.loads(response.body)
    assert body['Code'] == 'UnauthorizedError'
    assert message in body['Message']


def test_signed_notification_is_queued(client):
    client, runtime = client
    response = client.http.post('/live/add', body=BODY, headers={
        'Content-Type': 'application/json', **signed_headers(KEY, 'POST', '/live/add', BODY)})
    assert response.status_code == 202, response.body
    assert runtime.queue.counts()['notifications']['queued'] == 1


def test_signature_by_hand():
    # The README's recipe, checked against an HMAC computed by hand
    # (printf 'POST\n/live/add\n%s\n1700000000' "$(printf '' | sha256sum | cut -c1-64)"
    #  | openssl dgst -sha256 -hmac s3cr3t)
    assert sign(KEY, 'post', '/live/add', b'', 1700000000) == (
        '3defb8456e0cc2ab711d8c328cef01eae4a5d73777d3aaa2a8fed6b96b4339b7')


# Signature and timestamp of a request made at `now`, built when the test runs
# (not at collection, which may be minutes earlier and differs between workers)
@pytest.mark.parametrize('make, message', [
    (lambda now: (None, None), 'Missing `signature` header'),
    (lambda now: (sign(KEY, 'POST', '/live/add', BODY, now), None),
     'Missing `signature-timestamp` header'),
    (lambda now: ('00' * 32, now), 'Invalid `signature` header'),
    # compare_digest raises TypeError for a str with non-ASCII characters
    (lambda now: ('\u00e9' * 64, now), 'Invalid `signature` header'),
    (lambda now: (sign('other key', 'POST', '/live/add', BODY, now), now),
     'Invalid `signature` header'),
    (lambda now: (sign(KEY, 'POST', '/live/delete', BODY, now), now),
     'Invalid `signature` header'),
    # Signed at one time, sent with another
    (lambda now: (sign(KEY, 'POST', '/live/add', BODY, now - 1), now),
     'Invalid `signature` header'),
    (lambda now: (sign(KEY, 'POST', '/live/add', BODY, now), 'soon'),
     'Invalid `signature-timestamp` header'),
    # Digits of another script, which int() would take
    (lambda now: (sign(KEY, 'POST', '/live/add', BODY, 1), '\u0661'),
     'Invalid `signature-timestamp` header'),
], ids=['unsigned', 'no timestamp', 'zeros', 'non-ascii', 'other key', 'other path',
        'other time', 'timestamp not a number', 'timestamp of arabic digits'])
def test_unsigned_or_badly_signed_notifications_are_refused(client, make, message):
    client, runtime = client
    signature, timestamp = make(int(time.time()))
    refused(post(client, signature, timestamp=timestamp), message)
    assert runtime.queue.counts() == {}


@pytest.mark.parametrize('age', [301, 3600, -301])
def test_replayed_old_request_is_refused(client, age):
    # A request captured and sent again later, or one from a clock far ahead,
    # is refused; within 300 s either way it is accepted
    client, runtime = client
    headers = {'Content-Type': 'application/json',
               **signed_headers(KEY, 'POST', '/live/add', BODY, now=time.time() - age)}
    response = client.http.post('/live/add', headers=headers, body=BODY)
    refused(response, 'Expired `signature-timestamp` header')
    assert 'signatures are valid for 300 s' in json.loads(response.body)['Message']
    assert runtime.queue.counts() == {}


def test_replay_of_an_accepted_request_is_refused_later(client, monkeypatch):
    client, runtime = client
    headers = {'Content-Type': 'application/json',
               **signed_headers(KEY, 'POST', '/live/add', BODY)}
    assert client.http.post('/live/add', headers=headers, body=BODY).status_code == 202
    # Ten minutes later, the very same request
    later = time.time() + 600
    monkeypatch.setattr(time, 'time', lambda: later)
    refused(client.http.post('/live/add', headers=headers, body=BODY),
            'Expired `signature-timestamp` header')
    assert runtime.queue.counts()['notifications']['queued'] == 1


def test_tampered_body_is_refused(client):
    client, runtime = client
    now = int(time.time())
    signature = sign(KEY, 'POST', '/live/add', BODY, now)
    tampered = BODY.replace(b'add', b'ad').replace(BUNDLE['version'].encode(),
                                                   b'2020-01-01T000000.000000Z')
    refused(post(client, signature, tampered, now), 'Invalid `signature` header')
