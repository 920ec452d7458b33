"""
A TDR repository configured with a service account key
(AZUL_GOOGLE_SERVICE_ACCOUNT) queries BigQuery as that account: the real
google-auth library signs a JWT with the key and trades it for an access
token at the key's `token_uri` (a loopback stand-in of Google's token
endpoint here, which checks the JWT against the key's public half), then the
real BigQuery client reads the local stand-in loaded with the fixture tables.
"""
import base64
import http.server
import json
import os
import urllib.parse

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from azul.config import Config
from azul.plugins.repository.tdr.hca import TDRHCARepository
from azul.plugins.repository.tdr.local_bigquery import LocalBigQuery
from azul_testing import FIXTURES, send_json, serving

TABLES = FIXTURES / 'hca' / 'tdr-tables' / 'd8c20944-739f-4e7d-9161-b720953432ce.tables.tdr.json'
SOURCE = 'tdr:bigquery:gcp:local-tdr:hca_snapshot:'
EMAIL = 'tdr-reader@azul-test.iam.gserviceaccount.com'


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + '=' * (-len(part) % 4))


class _TokenServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, public_key):
        super().__init__(('127.0.0.1', 0), _TokenHandler)
        self.public_key = public_key
        self.claims: list[dict] = []

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.server_address[1]}/token'


class _TokenHandler(http.server.BaseHTTPRequestHandler):

    def do_POST(self):
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers['Content-Length'])).decode())
        assert form['grant_type'] == ['urn:ietf:params:oauth:grant-type:jwt-bearer']
        header, payload, signature = form['assertion'][0].split('.')
        # RS256 over `header.payload` (RFC 7515), with the key's public half
        self.server.public_key.verify(_b64decode(signature), f'{header}.{payload}'.encode(),
                                      padding.PKCS1v15(), hashes.SHA256())
        self.server.claims.append(json.loads(_b64decode(payload)))
        send_json(self, 200, {'access_token': 'token-of-the-service-account',
                              'expires_in': 3600, 'token_type': 'Bearer'})

    def log_message(self, *args):
        pass


@pytest.fixture
def token_server():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    with serving(_TokenServer(key.public_key())) as server:
        yield server, {'type': 'service_account', 'project_id': 'azul-test',
                       'private_key_id': 'k1', 'private_key': pem, 'client_email': EMAIL,
                       'client_id': '1', 'token_uri': server.url}


def test_bigquery_is_queried_as_the_service_account(token_server):
    server, key = token_server
    with LocalBigQuery(project='local-tdr', datasets={'hca_snapshot': TABLES}) as bigquery:
        config = Config.from_env({**os.environ,
                                  'AZUL_BIGQUERY_ENDPOINT': bigquery.url,
                                  'AZUL_GOOGLE_SERVICE_ACCOUNT': json.dumps(key)})
        plugin = TDRHCARepository(config)
        listing = plugin.list_bundles(SOURCE)
    # The fixture's links table has four rows (fixtures README §5)
    assert len(listing.bundles) == 4
    assert server.claims, 'no access token was requested'
    claims = server.claims[0]
    assert claims['iss'] == EMAIL
    # google-auth always names Google's token endpoint as the audience, even
    # when the key's token_uri sends the assertion elsewhere
    assert claims['aud'] == 'https://oauth2.googleapis.com/token'
    assert claims['scope'] == 'https://www.googleapis.com/auth/bigquery'


def test_without_a_key_the_stand_in_is_reached_anonymously(token_server):
    server, _ = token_server
    with LocalBigQuery(project='local-tdr', datasets={'hca_snapshot': TABLES}) as bigquery:
        env = {k: v for k, v in os.environ.items() if k != 'AZUL_GOOGLE_SERVICE_ACCOUNT'}
        config = Config.from_env({**env, 'AZUL_BIGQUERY_ENDPOINT': bigquery.url})
        assert len(TDRHCARepository(config).list_bundles(SOURCE).bundles) == 4
    assert server.claims == []
