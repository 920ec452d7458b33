"""
Credentials in URLs are masked wherever settings are shown or reported
(`azul config`, health checks, the backend's messages, logs); the hosts the
local server answers to (AZUL_ALLOWED_HOSTS).
"""
import logging
from pathlib import Path

import attrs
import pytest

from azul import envfiles
from azul.adapters import cli
from azul.adapters.server import allowed_hosts, host_name
from azul.backends.opensearch.backend import OpenSearchBackend
from azul.config import Config
from azul.errors import ConfigError, ServiceUnavailableError
from azul.masking import install_log_masking, mask_credentials
from azul.service import health

ROOT = Path(__file__).resolve().parents[2]


def _env(**overrides) -> dict[str, str]:
    env = envfiles.evaluate({}, ROOT)
    env.update(overrides)
    return env


@pytest.mark.parametrize('text, masked', [
    ('https://admin:hunter2@search.example:9200', 'https://********@search.example:9200'),
    ('http://token@host/path?x=a@b', 'http://********@host/path?x=a@b'),
    ('OpenSearch at http://u:p@h:9200 is unreachable; see https://x:y@z/',
     'OpenSearch at http://********@h:9200 is unreachable; see https://********@z/'),
    ('["file:///a/b", "s3://key:secret@bucket/x"]', '["file:///a/b", "s3://********@bucket/x"]'),
    # Nothing to mask
    ('http://127.0.0.1:9200', 'http://127.0.0.1:9200'),
    ('user@example.org wrote', 'user@example.org wrote'),
    ('https://host/a@b', 'https://host/a@b'),
])
def test_mask_credentials(text, masked):
    assert mask_credentials(text) == masked


def test_config_masks_credentials_in_urls():
    env = _env(AZUL_ES_ENDPOINT='https://admin:hunter2@search.example:9200/')
    config = Config.from_env(env)
    # The config itself keeps them: the backend needs them
    assert config.es_endpoint == 'https://admin:hunter2@search.example:9200'
    described = config.describe(env)
    assert described['AZUL_ES_ENDPOINT'] == 'https://********@search.example:9200/'
    assert 'hunter2' not in config.settings_table(env)


def test_azul_config_masks_credentials(monkeypatch, capsys):
    monkeypatch.setenv('AZUL_ES_ENDPOINT', 'https://admin:hunter2@search.example:9200')
    assert cli.main(['config']) == 0
    out = capsys.readouterr().out
    assert 'https://********@search.example:9200' in out
    assert 'hunter2' not in out and 'admin' not in out


def test_log_messages_are_masked():
    old = logging.getLogRecordFactory()
    records = []

    class Capture(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    logger = logging.getLogger('test_masking')
    handler = Capture()
    logger.addHandler(handler)
    try:
        install_log_masking()
        install_log_masking()
        logger.warning('Connecting to %s', 'http://admin:hunter2@h:9200')
        logger.warning('OpenSearch at https://u:p@h failed')
    finally:
        logger.removeHandler(handler)
        logging.setLogRecordFactory(old)
    assert records == ['Connecting to http://********@h:9200',
                       'OpenSearch at https://********@h failed']


@attrs.frozen
class _Backend:
    error: Exception | None = None

    def health(self):
        if self.error is not None:
            raise self.error
        return {'endpoint': 'https://admin:hunter2@search.example', 'status': 'green'}


@attrs.frozen
class _Runtime:
    backend: _Backend


def test_health_masks_credentials():
    response = health.run_checks(_Runtime(_Backend()), ['elasticsearch'])
    assert response.status == 200
    assert response.body == ('{"elasticsearch": {"endpoint": "https://********@search.example", '
                             '"status": "green", "up": true}, "up": true}')
    down = ServiceUnavailableError('OpenSearch at https://admin:hunter2@search.example is '
                                   'unreachable')
    response = health.run_checks(_Runtime(_Backend(down)), ['elasticsearch'])
    assert response.status == 503
    assert response.body == ('{"elasticsearch": {"up": false, "message": "OpenSearch at '
                             'https://********@search.example is unreachable"}, "up": false}')


def test_backend_messages_mask_credentials():
    # Port 9 (discard) is closed on the test machines: the connection is refused
    backend = OpenSearchBackend('http://admin:hunter2@127.0.0.1:9/', prefix='azul',
                                deployment='tmask', timeout=5)
    try:
        assert backend.endpoint == 'http://********@127.0.0.1:9'
        with pytest.raises(ServiceUnavailableError) as e:
            backend.health()
        assert 'hunter2' not in e.value.message
        assert e.value.message.startswith('OpenSearch at http://********@127.0.0.1:9 ')
    finally:
        backend.close()


def _config(**overrides) -> Config:
    return Config.from_env(_env(**overrides))


def test_allowed_hosts():
    loopback = {'localhost', '127.0.0.1', '::1'}
    assert allowed_hosts(_config(), '127.0.0.1') == loopback
    assert allowed_hosts(_config(AZUL_HOST='0.0.0.0'), '0.0.0.0') == loopback
    assert allowed_hosts(_config(AZUL_HOST='box.lan'), 'box.lan') == loopback | {'box.lan'}
    assert allowed_hosts(_config(), '10.0.0.5') == loopback | {'10.0.0.5'}
    assert allowed_hosts(_config(AZUL_SERVICE_URL='https://Azul.Example:8443/'), '::') \
        == loopback | {'azul.example'}
    assert allowed_hosts(_config(AZUL_ALLOWED_HOSTS='azul.example, [::1]'), '127.0.0.1') \
        == {'azul.example', '::1'}
    assert allowed_hosts(_config(AZUL_ALLOWED_HOSTS='*'), '127.0.0.1') is None
    with pytest.raises(ConfigError, match=r"AZUL_ALLOWED_HOSTS: 'a/b' is not a host name"):
        _config(AZUL_ALLOWED_HOSTS='x,a/b')


@pytest.mark.parametrize('header, name', [
    ('localhost:8000', 'localhost'),
    ('Azul.Example.', 'azul.example'),
    ('127.0.0.1', '127.0.0.1'),
    ('[::1]:8000', '::1'),
    ('localhost:@evil.example', None),
    ('localhost:80/x', None),
    ('evil.example:8000:1', None),
    ('', None),
])
def test_host_name(header, name):
    assert host_name(header) == name


def test_server_settings():
    config = _config()
    assert (config.read_timeout, config.max_connections, config.allowed_hosts) == \
        (30, 128, None)
    config = _config(AZUL_READ_TIMEOUT='2', AZUL_MAX_CONNECTIONS='4')
    assert (config.read_timeout, config.max_connections) == (2, 4)
    with pytest.raises(ConfigError, match='AZUL_READ_TIMEOUT: 0 is not between 1 and 3600'):
        _config(AZUL_READ_TIMEOUT='0')
