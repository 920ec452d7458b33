"""The parts of `azul.deploy.package` that need no download or Chalice run."""
from pathlib import Path

import pytest

from azul.deploy import package
from azul.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_the_runtime_requirements_leave_out_the_excluded_ones():
    lines = ['# pinned', 'attrs==26.1.0', '', 'DuckDB==2.0.1  # the embedded backend',
             'chalice==1.34.0', 'boto3==1.44.8', 'sqlglot==30.30.0', 'tqdm==4.70.1',
             'nanoarrow==0.9.0', 'pyroaring==1.2.0', 'numpy==2.4.6',
             'google-cloud-bigquery[bqstorage]==3.47.0']
    assert package.runtime_requirements(lines) == ['attrs==26.1.0',
                                                   'google-cloud-bigquery[bqstorage]==3.47.0']


def test_an_exclusion_without_its_requirement_is_an_error():
    with pytest.raises(ConfigError, match='tqdm'):
        package.runtime_requirements(['duckdb==2', 'chalice==1', 'boto3==1', 'sqlglot==3',
                                      'nanoarrow==0', 'pyroaring==1', 'numpy==2'])


def test_an_option_in_the_requirements_is_an_error():
    with pytest.raises(ConfigError, match='-r other.txt'):
        package.runtime_requirements(['-r other.txt'])


def test_the_checkouts_requirements_are_understood():
    kept = package.runtime_requirements((ROOT / 'requirements.txt').read_text().splitlines())
    assert 'opensearch-py' in {package._distribution(r) for r in kept}
    assert not {package._distribution(r) for r in kept} & set(package.EXCLUDED)


def test_the_stage_is_named_after_the_deployment():
    config = {'version': '2.0', 'app_name': 'azul-service',
              'stages': {'dev': {'api_gateway_stage': 'dev', 'lambda_timeout': 30},
                         'prod': {'api_gateway_stage': 'prod', 'lambda_timeout': 60}}}
    sandbox = package.chalice_config(config, 'sandbox')
    assert sandbox['stages'] == {'sandbox': {'api_gateway_stage': 'sandbox',
                                             'lambda_timeout': 30}}
    assert sandbox['app_name'] == 'azul-service'
    assert package.chalice_config(config, 'prod')['stages']['prod']['lambda_timeout'] == 60
    # The input is left alone
    assert list(config['stages']) == ['dev', 'prod']
    with pytest.raises(ConfigError):
        package.chalice_config({'stages': {}}, 'dev')


def test_an_unknown_app_is_refused(tmp_path):
    with pytest.raises(ConfigError, match='No such app'):
        package.prepare_app('worker', 'dev', root=tmp_path)


def test_the_project_holds_the_app_and_azul_without_byte_code(tmp_path, monkeypatch):
    # The dependencies are the integration test's business
    site = tmp_path / 'site'
    (site / 'orjson').mkdir(parents=True)
    (site / 'orjson' / '__init__.py').write_text('')
    (site / 'orjson' / '__pycache__').mkdir()
    monkeypatch.setattr(package, 'dependencies', lambda requirements, root: site)
    build = tmp_path / 'build'
    project = package.prepare_app('service', 'sandbox', root=ROOT, build=build)
    assert project == build / 'sandbox' / 'service' / 'project'
    stale = project / 'vendor' / 'azul' / 'deleted_since.py'
    stale.write_text('')
    project = package.prepare_app('service', 'sandbox', root=ROOT, build=build)
    assert not stale.exists()
    assert (project / 'app.py').read_bytes() == (ROOT / 'lambdas/service/app.py').read_bytes()
    assert not (project / 'requirements.txt').exists()
    vendored = {p.relative_to(project / 'vendor').as_posix()
                for p in (project / 'vendor').rglob('*')}
    assert 'orjson/__init__.py' in vendored and 'azul/config.py' in vendored
    assert not [p for p in vendored if '__pycache__' in p or p.endswith(('.pyc', '.md'))]
    assert not [p for p in vendored if p.startswith(('azul_dev', 'azul/synth'))]
