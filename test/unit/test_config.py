"""Configuration: environment files, typed settings, catalogs, and the README."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from azul import envfiles
from azul.config import SETTINGS, Config, parse_catalogs
from azul.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _env(**overrides) -> dict[str, str]:
    env = envfiles.evaluate({}, ROOT)
    env.update(overrides)
    return env


def test_defaults_build_a_valid_config():
    config = Config.from_env(_env())
    assert config.deployment == 'local'
    assert config.index_backend == 'duckdb'
    assert config.default_catalog.name == 'dcp'
    assert config.default_catalog.metadata_plugin == 'hca'
    # {NAME} references are resolved across files
    assert config.duckdb_path == Path(ROOT, '.azul', 'local', 'index.duckdb')
    assert config.duckdb_memory_limit is None
    assert Config.from_env(_env(AZUL_DUCKDB_MEMORY_LIMIT='1.5GiB')).duckdb_memory_limit == '1.5GiB'
    assert config.duckdb_bitmap_mb is None
    assert Config.from_env(_env(AZUL_DUCKDB_BITMAP_MB='0')).duckdb_bitmap_mb == 0
    demo = f'file://{ROOT}/.azul/local/demo/bundles/'
    assert config.default_catalog.sources == (demo + '*Z.json', demo + 'restricted/*Z.json')
    assert config.default_catalog.groups == ((demo + 'restricted/*Z.json', 'demo-consent'),)


@pytest.mark.parametrize('name, value, message', [
    ('AZUL_PORT', 'eighty', "AZUL_PORT: 'eighty' is not an integer"),
    ('AZUL_PORT', '70000', 'AZUL_PORT: 70000 is not between 1 and 65535'),
    ('AZUL_INDEX_BACKEND', 'solr', "AZUL_INDEX_BACKEND: 'solr' is not one of duckdb, opensearch"),
    ('AZUL_ES_ENDPOINT', 'localhost:9200', 'AZUL_ES_ENDPOINT: '),
    ('AZUL_ES_AUTH', 'secret', 'AZUL_ES_AUTH: must be of the form user:password'),
    ('AZUL_CATALOGS', '{', 'AZUL_CATALOGS: not valid JSON'),
    ('AZUL_CATALOGS', '{}', 'AZUL_CATALOGS: must be a non-empty JSON object'),
    ('AZUL_INDEX_PREFIX', 'Azul_', 'AZUL_INDEX_PREFIX: '),
    ('AZUL_LOG_LEVEL', 'chatty', "AZUL_LOG_LEVEL: 'CHATTY' is not one of"),
    ('AZUL_DUCKDB_MEMORY_LIMIT', '2GB;', "AZUL_DUCKDB_MEMORY_LIMIT: '2GB;' is not a size"),
])
def test_bad_values_name_the_variable(name, value, message):
    with pytest.raises(ConfigError) as e:
        Config.from_env(_env(**{name: value}))
    assert str(e.value).startswith(message)


def test_missing_required_setting_names_it():
    env = _env()
    del env['AZUL_DUCKDB_PATH']
    with pytest.raises(ConfigError, match='AZUL_DUCKDB_PATH is not set'):
        Config.from_env(env)


def test_opensearch_backend_requires_endpoint():
    with pytest.raises(ConfigError, match='AZUL_ES_ENDPOINT must be set'):
        Config.from_env(_env(AZUL_INDEX_BACKEND='opensearch'))
    config = Config.from_env(_env(AZUL_INDEX_BACKEND='opensearch',
                                  AZUL_ES_ENDPOINT='http://127.0.0.1:9200/'))
    assert config.es_endpoint == 'http://127.0.0.1:9200'


def _catalog(**overrides):
    body = {'atlas': 'hca', 'internal': False,
            'plugins': {'metadata': {'name': 'hca'}, 'repository': {'name': 'canned'}},
            'sources': ['file:///tmp/bundles']}
    body.update(overrides)
    return body


def test_catalogs_keep_order_and_first_is_default():
    value = json.dumps({'dcp3': _catalog(), 'it3': _catalog(internal=True)})
    catalogs = parse_catalogs(value)
    assert [c.name for c in catalogs] == ['dcp3', 'it3']
    assert catalogs[1].internal is True
    assert catalogs[0].sources == ('file:///tmp/bundles',)


@pytest.mark.parametrize('name, body, message', [
    ('DCP', _catalog(), "catalog 'DCP': a name must be"),
    ('a', _catalog(), "catalog 'a': a name must be"),
    ('dcp_2', _catalog(), "catalog 'dcp_2': a name must be"),
    ('index', _catalog(), "catalog 'index': the name is reserved"),
    ('dcp', _catalog(atlas='hpa'), "catalog 'dcp': unknown atlas 'hpa'"),
    ('dcp', _catalog(internal='no'), "catalog 'dcp': internal must be a bool"),
    ('dcp', _catalog(plugins={'metadata': {'name': 'hca'}}), 'missing plugins.repository'),
    ('dcp', _catalog(plugins={'metadata': {'name': 'x'}, 'repository': {'name': 'canned'}}),
     "unknown metadata plugin 'x'"),
    ('dcp', _catalog(sources=['s3://bucket']), "canned source 's3://bucket' must be"),
    ('dcp', _catalog(sources='file:///x'), 'sources must be a list'),
    ('dcp', {**_catalog(), 'colour': 'red'}, "unknown keys ['colour']"),
])
def test_bad_catalogs(name, body, message):
    with pytest.raises(ValueError) as e:
        parse_catalogs(json.dumps({name: body}))
    assert message in str(e.value)


def test_secrets_are_masked():
    env = _env(AZUL_ES_AUTH='admin:hunter2')
    config = Config.from_env(env)
    described = config.describe(env)
    assert described['AZUL_ES_AUTH'] == '********'
    assert 'hunter2' not in json.dumps(described)
    assert described['AZUL_PORT'] == '8000'


def test_explicit_variables_win_over_files():
    values = envfiles.evaluate({'AZUL_PORT': '9999'}, ROOT)
    # the caller's own value is left alone, not re-exported
    assert 'AZUL_PORT' not in values
    # and references to it resolve against it
    env = {'AZUL_DATA_DIR': '/elsewhere'}
    values = envfiles.evaluate(env, ROOT)
    assert values['AZUL_DUCKDB_PATH'] == '/elsewhere/index.duckdb'


def test_variables_set_by_the_loader_are_not_explicit():
    environ = {}
    envfiles.load(environ, ROOT)
    assert environ['AZUL_PORT'] == '8000'
    environ['AZUL_DEPLOYMENT'] = environ['AZUL_DEPLOYMENT']  # still managed
    values = envfiles.evaluate(environ, ROOT)
    assert values['AZUL_PORT'] == '8000'


def test_deployment_files_override_root(tmp_path):
    (tmp_path / 'deployments' / 'dev').mkdir(parents=True)
    (tmp_path / 'environment.py').write_text(
        "def env():\n    return {'A': 'root', 'B': '{A}-b', 'C': 'gone'}\n")
    (tmp_path / 'deployments' / 'dev' / 'environment.py').write_text(
        "def env():\n    return {'A': 'dev', 'C': None}\n")
    (tmp_path / 'deployments' / 'dev' / 'environment.local.py').write_text(
        "def env():\n    return {'SECRET': 's3cr3t'}\n")
    values = envfiles.evaluate({'AZUL_DEPLOYMENT': 'dev'}, tmp_path)
    assert values['A'] == 'dev'
    assert values['B'] == 'dev-b'
    assert 'C' not in values
    assert values['SECRET'] == 's3cr3t'


@pytest.mark.parametrize('text, message', [
    ("def env():\n    return {'A': '{B}'}\n", 'A: references undefined variable {B}'),
    ("def env():\n    return {'A': '{B}', 'B': '{A}'}\n", 'circular reference'),
    ("def env():\n    return 42\n", 'env() must return a mapping'),
    ("def env(:\n", 'SyntaxError'),
])
def test_bad_environment_files(tmp_path, text, message):
    (tmp_path / 'deployments' / 'local').mkdir(parents=True)
    (tmp_path / 'deployments' / 'local' / 'environment.py').write_text(text)
    with pytest.raises(envfiles.EnvironmentFileError, match=re.escape(message)):
        envfiles.evaluate({}, tmp_path)


def test_unknown_deployment(tmp_path):
    with pytest.raises(envfiles.EnvironmentFileError, match="no such deployment 'nope'"):
        envfiles.evaluate({'AZUL_DEPLOYMENT': 'nope'}, ROOT)


def test_every_deployment_builds_a_config():
    # What Terraform makes for an AWS deployment, and its environment.local.py
    # then names for the CLI
    made = {'AZUL_ES_ENDPOINT': 'https://search.example.org', 'AZUL_MANIFEST_BUCKET': 'b'}
    for deployment in ('local', 'sandbox', 'dev', 'prod'):
        env = envfiles.evaluate({'AZUL_DEPLOYMENT': deployment, **made}, ROOT)
        env.update(AZUL_DEPLOYMENT=deployment, **made)
        assert Config.from_env(env).deployment == deployment


def test_bash_environment_file_exports_settings():
    script = 'source environment >/dev/null && echo "$AZUL_DEPLOYMENT $AZUL_INDEX_BACKEND"'
    clean = {k: v for k, v in os.environ.items() if not k.startswith('AZUL_')}
    out = subprocess.run(['bash', '-c', script], cwd=ROOT, env=clean, text=True,
                         capture_output=True, check=True).stdout
    assert out.split() == ['local', 'duckdb']


def test_readme_documents_every_setting():
    readme = (ROOT / 'README.md').read_text()
    missing = [s.name for s in SETTINGS if f'`{s.name}`' not in readme]
    assert missing == []


def test_a_changed_managed_variable_counts_as_explicit():
    environ = {}
    envfiles.load(environ, ROOT)
    environ['AZUL_PORT'] = '9000'  # export AZUL_PORT=9000 after `source environment`
    envfiles.load(environ, ROOT)
    assert environ['AZUL_PORT'] == '9000'
    environ['AZUL_DATA_DIR'] = '/elsewhere'
    envfiles.load(environ, ROOT)
    # references follow the changed value
    assert environ['AZUL_DUCKDB_PATH'] == '/elsewhere/index.duckdb'


def _tdr_catalog(source: str) -> str:
    return json.dumps({'tdr': {'atlas': 'hca', 'internal': False,
                               'plugins': {'metadata': {'name': 'hca'},
                                           'repository': {'name': 'tdr_hca'}},
                               'sources': [source]}})


def test_tdr_sources():
    # The original's grammar: tdr:bigquery:gcp:{project}:{snapshot}:{prefix}
    good = 'tdr:bigquery:gcp:my-project:hca_snapshot:4'
    assert parse_catalogs(_tdr_catalog(good))[0].sources == (good,)
    for bad in ('file:///tmp/x', 'tdr:bigquery:gcp:my-project:hca_snapshot',
                'tdr:bigquery:gcp:my-project:hca_snapshot:XY'):
        with pytest.raises(ValueError, match=f"catalog 'tdr': Invalid TDR source spec "
                                             f"{re.escape(repr(bad))}"):
            parse_catalogs(_tdr_catalog(bad))
