"""
Settings on AWS Lambda: which apply where, the environment generated for a
deployment's functions, and secrets read from Secrets Manager (moto).
Expected values are literals from the deployment files and README.
"""
import gc
import json
import os
import uuid

import boto3
import pytest
from moto import mock_aws

from azul.adapters.aws_secrets import secret_id, with_secrets
from azul.adapters.runtime_holder import RuntimeHolder
from azul.config import SETTINGS, Config
from azul.deploy.environment import deployment_settings, lambda_environment
from azul.errors import ConfigError
from azul.signing import signing_key


def _lambda_env(**overrides) -> dict[str, str]:
    env = {
        'AWS_LAMBDA_FUNCTION_NAME': 'azul-service-dev',
        'AZUL_DEPLOYMENT': 'dev',
        'AZUL_CATALOGS': json.dumps({'dcp': {
            'atlas': 'hca', 'internal': False,
            'plugins': {'metadata': {'name': 'hca'}, 'repository': {'name': 'tdr_hca'}},
            'sources': ['tdr:bigquery:gcp:p:s:']}}),
        'AZUL_INDEX_BACKEND': 'opensearch',
        'AZUL_ES_ENDPOINT': 'https://search-x.us-east-1.es.amazonaws.com',
        'AZUL_ES_TIMEOUT': '30',
        'AZUL_INDEX_PREFIX': 'azul',
        'AZUL_SERVICE_URL': 'https://service.dev.example.org',
        'AZUL_QUEUE': 'sqs',
        'AZUL_MANIFEST_STORE': 's3',
        'AZUL_MANIFEST_BUCKET': 'bucket',
        'AZUL_AWS_REGION': 'us-east-1',
        'AZUL_LOG_LEVEL': 'INFO',
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def test_local_settings_are_not_required_on_lambda():
    # No AZUL_DATA_DIR, AZUL_HOST, AZUL_PORT, AZUL_QUEUE_PATH, AZUL_DUCKDB_PATH,
    # AZUL_DEMO_BUNDLES: required locally, meaningless on Lambda
    config = Config.from_env(_lambda_env())
    assert config.data_dir is None and config.host is None and config.queue_path is None
    assert config.drs_domain == 'service.dev.example.org'
    assert config.es_sigv4 is True


def test_local_settings_are_ignored_on_lambda():
    config = Config.from_env(_lambda_env(AZUL_PORT='not a port', AZUL_DATA_DIR='/x'))
    assert config.port is None and config.data_dir is None


def test_the_same_settings_are_required_off_lambda():
    with pytest.raises(ConfigError, match='AZUL_DATA_DIR is not set'):
        Config.from_env(_lambda_env(AWS_LAMBDA_FUNCTION_NAME=None))


@pytest.mark.parametrize('override, message', [
    ({'AZUL_INDEX_BACKEND': 'duckdb'}, 'AZUL_INDEX_BACKEND must be `opensearch`'),
    ({'AZUL_QUEUE': 'local'}, 'AZUL_QUEUE must be `sqs`'),
    ({'AZUL_MANIFEST_STORE': None}, 'AZUL_MANIFEST_STORE must be `s3`'),
    ({'AZUL_SERVICE_URL': None}, 'AZUL_SERVICE_URL must be set'),
    ({'AZUL_SERVICE_URL': None, 'AZUL_DRS_DOMAIN': 'drs.example.org'},
     'AZUL_SERVICE_URL must be set'),
])
def test_what_lambda_cannot_do_fails_at_start(override, message):
    with pytest.raises(ConfigError, match=f'On AWS Lambda {message}'):
        Config.from_env(_lambda_env(**override))


def test_a_local_source_cannot_be_read_on_lambda():
    catalogs = json.dumps({'dcp': {
        'atlas': 'hca', 'internal': False,
        'plugins': {'metadata': {'name': 'hca'}, 'repository': {'name': 'canned'}},
        'sources': ['file:///bundles/*.json']}})
    with pytest.raises(ConfigError, match="catalog 'dcp' cannot read the local source"):
        Config.from_env(_lambda_env(AZUL_CATALOGS=catalogs))


def test_every_setting_has_a_scope():
    assert {s.scope for s in SETTINGS} <= {'local', 'lambda', 'both'}
    local = {s.name for s in SETTINGS if s.scope == 'local'}
    # Checked by hand against what the local server, DuckDB and SQLite use
    assert local == {
        'AZUL_DATA_DIR', 'AZUL_DUCKDB_PATH', 'AZUL_DUCKDB_MEMORY_LIMIT', 'AZUL_DUCKDB_BITMAP_MB',
        'AZUL_HOST',
        'AZUL_PORT', 'AZUL_ALLOWED_HOSTS', 'AZUL_READ_TIMEOUT', 'AZUL_MAX_CONNECTIONS',
        'AZUL_QUEUE_PATH', 'AZUL_DEMO_BIOSAMPLES', 'AZUL_DEMO_BUNDLES', 'AZUL_MANIFEST_DIR',
        'AZUL_REINDEX_WORKERS', 'AZUL_INDEXER_PROCESSES', 'AZUL_TOKENS_FILE',
    }


@pytest.mark.parametrize('deployment', ['dev', 'prod', 'sandbox'])
def test_lambda_environment_of_aws_deployments(deployment):
    env = lambda_environment(deployment)
    assert env['AZUL_DEPLOYMENT'] == deployment
    assert env['AZUL_INDEX_BACKEND'] == 'opensearch'
    assert env['AZUL_QUEUE'] == 'sqs'
    assert env['AZUL_MANIFEST_STORE'] == 's3'
    assert env['AZUL_SERVICE_URL'] == f'https://service.{deployment}.azul.example.org'
    assert env['AZUL_AUTH'] == 'google'
    # No setting of the local server and no secret reaches the functions
    for name in ('AZUL_DATA_DIR', 'AZUL_HOST', 'AZUL_PORT', 'AZUL_QUEUE_PATH',
                 'AZUL_DUCKDB_PATH', 'AZUL_DEMO_BUNDLES', 'AZUL_TOKENS_FILE',
                 'AZUL_INDEXER_HMAC_KEY', 'AZUL_MANIFEST_SIGNING_KEY', 'AZUL_ES_AUTH',
                 'AZUL_GOOGLE_SERVICE_ACCOUNT', 'AZUL_HOME', 'AZUL_FIXTURES'):
        assert name not in env, name


def test_secrets_in_the_files_stay_out_of_the_lambda_environment(tmp_path):
    # A copy of the project's environment files plus a local file with secrets
    root = tmp_path / 'project'
    (root / 'deployments' / 'dev').mkdir(parents=True)
    from azul.envfiles import project_root
    real = project_root()
    (root / 'environment.py').write_text((real / 'environment.py').read_text())
    for path in ('deployments/aws.py', 'deployments/dev/environment.py'):
        (root / path).write_text((real / path).read_text())
    (root / 'deployments' / 'dev' / 'environment.local.py').write_text(
        'def env():\n'
        '    return {"AZUL_INDEXER_HMAC_KEY": "hmac-secret", '
        '"AZUL_MANIFEST_SIGNING_KEY": "signing-secret", '
        '"AZUL_ES_ENDPOINT": "https://search-d.us-east-1.es.amazonaws.com"}\n')
    assert deployment_settings('dev', root)['AZUL_INDEXER_HMAC_KEY'] == 'hmac-secret'
    env = lambda_environment('dev', root)
    assert env['AZUL_ES_ENDPOINT'] == 'https://search-d.us-east-1.es.amazonaws.com'
    assert 'hmac-secret' not in json.dumps(env)
    assert 'signing-secret' not in json.dumps(env)


def test_a_deployment_that_cannot_run_on_lambda_fails_to_render():
    # `local` uses DuckDB and a SQLite queue
    with pytest.raises(ConfigError, match="Deployment 'local' cannot run on AWS Lambda: "
                                          "On AWS Lambda AZUL_INDEX_BACKEND"):
        lambda_environment('local')


@pytest.fixture
def secrets():
    with mock_aws():
        yield boto3.client('secretsmanager', region_name='us-east-1')


def _deployment_env(deployment: str) -> dict[str, str]:
    return _lambda_env(AZUL_DEPLOYMENT=deployment)


def test_secrets_come_from_the_deployment_secret(secrets):
    deployment = 'd' + uuid.uuid4().hex[:8]
    secrets.create_secret(Name=f'azul/{deployment}', SecretString=json.dumps({
        'AZUL_INDEXER_HMAC_KEY': 'k1', 'AZUL_MANIFEST_SIGNING_KEY': 'k2'}))
    env = with_secrets(_deployment_env(deployment), secrets)
    config = Config.from_env(env)
    assert config.indexer_hmac_key == 'k1'
    assert config.manifest_signing_key == 'k2'
    assert secret_id(deployment) == f'azul/{deployment}'


def test_a_secret_without_value_means_no_secrets(secrets):
    deployment = 'd' + uuid.uuid4().hex[:8]
    # What Terraform makes: the secret, no value
    secrets.create_secret(Name=f'azul/{deployment}')
    env = _deployment_env(deployment)
    assert with_secrets(env, secrets) == env


@pytest.mark.parametrize('value, message', [
    ('not json', 'is not a JSON object'),
    ('["AZUL_INDEXER_HMAC_KEY"]', 'is not a JSON object'),
    ('{"AZUL_PORT": "1"}', 'holds AZUL_PORT, which are not secret settings'),
    ('{"AZUL_INDEXER_HMAC_KEY": 5}', 'the values of AZUL_INDEXER_HMAC_KEY must be strings'),
])
def test_a_malformed_secret_is_named_not_shown(secrets, value, message):
    deployment = 'd' + uuid.uuid4().hex[:8]
    secrets.create_secret(Name=f'azul/{deployment}', SecretString=value)
    with pytest.raises(ConfigError, match=message) as e:
        with_secrets(_deployment_env(deployment), secrets)
    assert f'azul/{deployment}' in str(e.value)
    assert '5' not in str(e.value).replace(deployment, '')


def test_the_signing_key_is_required_without_a_directory():
    assert signing_key('configured', None) == b'configured'
    with pytest.raises(ConfigError, match='AZUL_MANIFEST_SIGNING_KEY is not set'):
        signing_key(None, None)


def test_service_account_key_is_validated_without_echoing_it():
    key = {'type': 'service_account', 'client_email': 'r@p.iam.gserviceaccount.com',
           'private_key': 'PRIVATE', 'token_uri': 'https://oauth2.googleapis.com/token'}
    config = Config.from_env(_lambda_env(AZUL_GOOGLE_SERVICE_ACCOUNT=json.dumps(key)))
    assert json.loads(config.google_service_account)['client_email'] == key['client_email']
    for bad, message in [('{"type": "user", "private_key": "PRIVATE"}', 'is not the JSON key'),
                         ('PRIVATE', 'is not JSON'),
                         (json.dumps({**key, 'token_uri': ''}), 'lacks token_uri')]:
        with pytest.raises(ConfigError, match=message) as e:
            Config.from_env(_lambda_env(AZUL_GOOGLE_SERVICE_ACCOUNT=bad))
        assert 'PRIVATE' not in str(e.value)


def test_a_function_freezes_what_its_first_invocation_built(monkeypatch):
    # A Lambda function's process serves invocation after invocation: once its
    # runtime is built, what it holds is left out of the collector's passes
    for name in list(os.environ):
        if name.startswith('AZUL_'):
            monkeypatch.delenv(name)
    for name, value in {**_lambda_env(), 'AWS_ACCESS_KEY_ID': 'testing',
                        'AWS_SECRET_ACCESS_KEY': 'testing'}.items():
        monkeypatch.setenv(name, value)
    gc.unfreeze()
    try:
        with mock_aws():
            holder = RuntimeHolder()
            assert gc.get_freeze_count() == 0
            runtime = holder.get()
            assert gc.get_freeze_count() > 10_000
            assert holder.get() is runtime
    finally:
        gc.unfreeze()
