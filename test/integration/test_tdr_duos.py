"""
DUOS bundles of a `tdr_anvil` catalog: the plugin asks TDR for the
snapshot's DUOS id and DUOS for that dataset's registration, over HTTP (a
loopback stand-in of both services, answering in their documented shapes),
and reads the snapshot's tables through the real BigQuery client from the
local stand-in. The expected DUOS bundle is the fixture's
(`shared/fixtures/anvil/2370f948-….tdr.anvil.json`, fixtures README §6).
"""
import http.server
import json
import os
import urllib.parse

import pytest

from azul.config import Config
from azul.core.documents import BundleFQID
from azul.errors import RepositoryError
from azul.plugins.repository.tdr.anvil import TDRAnvilRepository
from azul.plugins.repository.tdr.duos import TerraDUOS
from azul.plugins.repository.tdr.local_bigquery import LocalBigQuery
from azul.plugins.repository.tdr.spec import TDRSourceSpec
from azul_testing import FIXTURES, send_json, serving

ANVIL = FIXTURES / 'anvil'
TABLES = ANVIL / '6c87f0e1-509d-46a4-b845-7584df39263b.tables.tdr.json'
SNAPSHOT = 'anvil_snapshot'
SNAPSHOT_ID = '6c87f0e1-509d-46a4-b845-7584df39263b'
SOURCE = f'tdr:bigquery:gcp:local-tdr:{SNAPSHOT}:'
VERSION = '2022-06-01T00:00:00.000000Z'
DUOS_BUNDLE = '2370f948-2783-aeb6-afea-e022897f4dcf'
PRIMARY = '826dea02-e274-affe-aabc-eb3db63ad068'
SUPPLEMENTARY = '6b0f6c0f-5d80-a242-accb-840921351cd5'


class _Terra(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), _Handler)
        self.requests: list[str] = []
        self.duos_id: str | None = 'DUOS-000123'
        self.registrations = {'DUOS-000123': {'studyDescription': 'Study description from '
                                                                  'DUOS',
                                              'studyName': 'ANVIL_CMG_UWASH_DS_BDIS'}}
        self.fail = 0

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.server_address[1]}'


class _Handler(http.server.BaseHTTPRequestHandler):

    def do_GET(self):
        server: _Terra = self.server
        server.requests.append(self.path)
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if server.fail:
            server.fail -= 1
            return self._send(503, {'message': 'unavailable'})
        if url.path == '/api/repository/v1/snapshots':
            # TDR's listing matches the filter as a substring: a second
            # snapshot whose name contains the first one's must not confuse
            items = [{'id': SNAPSHOT_ID, 'name': SNAPSHOT},
                     {'id': 'f' * 8 + SNAPSHOT_ID[8:], 'name': SNAPSHOT + '_v2'}]
            items = [i for i in items if query['filter'][0] in i['name']]
            return self._send(200, {'items': items, 'total': 2, 'filteredTotal': len(items)})
        if url.path == f'/api/repository/v1/snapshots/{SNAPSHOT_ID}':
            group = None if server.duos_id is None else {'duosId': server.duos_id,
                                                         'firecloudGroupName': 'g'}
            return self._send(200, {'id': SNAPSHOT_ID, 'name': SNAPSHOT,
                                    'duosFirecloudGroup': group})
        prefix = '/api/dataset/registration/'
        if url.path.startswith(prefix):
            registration = server.registrations.get(url.path.removeprefix(prefix))
            if registration is not None:
                return self._send(200, registration)
        self._send(404, {'message': 'not found'})

    def _send(self, status, body):
        send_json(self, status, body)

    def log_message(self, *args):
        pass


@pytest.fixture
def terra():
    with serving(_Terra()) as server:
        yield server


@pytest.fixture(scope='module')
def bigquery():
    with LocalBigQuery(project='local-tdr', datasets={SNAPSHOT: TABLES}) as local:
        yield local


def _plugin(bigquery, terra, **env) -> TDRAnvilRepository:
    config = Config.from_env({**os.environ, 'AZUL_BIGQUERY_ENDPOINT': bigquery.url,
                              'AZUL_TDR_URL': terra.url, 'AZUL_DUOS_URL': terra.url, **env})
    return TDRAnvilRepository(config)


def test_duos_bundle_from_terra(bigquery, terra):
    plugin = _plugin(bigquery, terra)
    try:
        listing = plugin.list_bundles(SOURCE)
        assert [f.uuid for f in listing.bundles] == sorted([DUOS_BUNDLE, PRIMARY,
                                                            SUPPLEMENTARY])
        bundle = plugin.fetch_bundle(SOURCE, BundleFQID(DUOS_BUNDLE, VERSION))
        expected = json.loads((ANVIL / f'{DUOS_BUNDLE}.tdr.anvil.json').read_text())
        assert bundle.metadata == expected['entities']
        assert bundle.links == {'links': expected['links']}
        # Asked once per snapshot, however many bundles
        plugin.fetch_bundle(SOURCE, BundleFQID(DUOS_BUNDLE, VERSION))
        assert [r.split('?')[0] for r in terra.requests] == [
            '/api/repository/v1/snapshots',
            f'/api/repository/v1/snapshots/{SNAPSHOT_ID}',
            '/api/dataset/registration/DUOS-000123',
        ]
    finally:
        plugin.close()


def test_without_duos_url_no_duos_bundles(bigquery, terra):
    env = {k: v for k, v in os.environ.items() if k != 'AZUL_DUOS_URL'}
    config = Config.from_env({**env, 'AZUL_BIGQUERY_ENDPOINT': bigquery.url})
    plugin = TDRAnvilRepository(config)
    try:
        assert DUOS_BUNDLE not in {f.uuid for f in plugin.list_bundles(SOURCE).bundles}
    finally:
        plugin.close()
    assert terra.requests == []


def _duos(terra, **kwargs) -> TerraDUOS:
    return TerraDUOS(terra.url, terra.url, initial_delay=0.001, **kwargs)


def test_no_registration_means_no_description(terra):
    terra.registrations.clear()
    assert _duos(terra).study_description(TDRSourceSpec.parse(SOURCE)) is None


def test_snapshot_without_duos_dataset(terra):
    terra.duos_id = None
    assert _duos(terra).study_description(TDRSourceSpec.parse(SOURCE)) is None
    assert not any('registration' in r for r in terra.requests)


def test_server_errors_are_retried_then_fail_the_bundle(terra):
    terra.fail = 2
    spec = TDRSourceSpec.parse(SOURCE)
    assert _duos(terra, retries=2).study_description(spec) == 'Study description from DUOS'
    terra.fail = 10
    with pytest.raises(RepositoryError, match='failed 3 times, last with status 503'):
        _duos(terra, retries=2).study_description(spec)


def test_an_unknown_snapshot_is_reported(terra):
    spec = TDRSourceSpec.parse('tdr:bigquery:gcp:local-tdr:no_such_snapshot:')
    with pytest.raises(RepositoryError, match="0 snapshots named 'no_such_snapshot'"):
        _duos(terra).study_description(spec)
