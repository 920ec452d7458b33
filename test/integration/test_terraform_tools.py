"""
The rendered configuration of the AWS deployments, with the real output of
`chalice package`, passes `terraform validate` (Terraform 1.11 and the AWS
provider from the local filesystem mirror, no network) and checkov, except
for the findings terraform/checkov_skips.py accepts with a reason.
"""
import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from azul.deploy import chalice, terraform

ROOT = Path(__file__).resolve().parents[2]
AWS_DEPLOYMENTS = ('dev', 'prod', 'sandbox')
VALIDATED = ('dev', 'prod')
PLUGINS = Path(os.environ.get('AZUL_TF_PLUGINS', '/opt/tf-plugins'))
CHECKOV = ROOT / '.venv-checkov' / 'bin' / 'checkov'

# One worker renders and runs the tools: they share the Chalice apps' caches
pytestmark = pytest.mark.xdist_group('terraform_tools')


def _skips() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location('checkov_skips',
                                                  ROOT / 'terraform' / 'checkov_skips.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SKIPS


def _package_bare_app(app: str, deployment: terraform.Deployment) -> dict:
    # The app without our package and dependencies: what Terraform sees of
    # the zip is its path and hash, and building the dependencies needs PyPI
    return chalice.package(app, deployment.name, deployment.config.aws_region,
                           project_dir=ROOT / 'lambdas' / app, outdir=deployment.build / app)


@pytest.fixture(scope='module')
def rendered(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp('terraform')
    directories = {}
    for name in AWS_DEPLOYMENTS:
        d = terraform.deployment(name, out=base / name, build=base / 'build' / name,
                                 packager=_package_bare_app)
        documents = terraform.render(d)
        assert terraform.dangling_references(documents) == [], name
        assert terraform.name_violations(documents) == [], name
        terraform.write(documents, d.out)
        directories[name] = d.out
    d = terraform.deployment('dev', out=base / 'bootstrap')
    documents = terraform.render(d, terraform.BOOTSTRAP)
    assert terraform.dangling_references(documents) == []
    terraform.write(documents, d.out)
    directories['bootstrap'] = d.out
    return directories


def test_chalice_output_is_merged_completely(rendered):
    for name in AWS_DEPLOYMENTS:
        lambdas = json.loads((rendered[name] / 'lambdas.tf.json').read_text())
        text = json.dumps(lambdas)
        # Nothing of Chalice's module left: its role, data sources and provider
        for leftover in ('default-role', '.chalice.', 'null_data_source', 'path.module}/deploy'):
            assert leftover not in text, (name, leftover)
        functions = lambdas['resource']['aws_lambda_function']
        assert len(functions) == 4
        for function in functions.values():
            zip_ = function['filename'].replace('${path.module}', str(rendered[name]))
            assert Path(zip_).resolve().is_file()


@pytest.fixture(scope='module')
def terraform_env(tmp_path_factory) -> dict[str, str]:
    if shutil.which('terraform') is None or not PLUGINS.is_dir():
        pytest.fail(f'terraform and its AWS provider in {PLUGINS} are required')
    home = tmp_path_factory.mktemp('terraform_home')
    (home / 'cache').mkdir()
    config = home / 'terraform.rc'
    # Only the local mirror: `terraform init` must not reach for the registry.
    # The cache makes the second init link the provider instead of copying it.
    config.write_text(f'provider_installation {{\n'
                      f'  filesystem_mirror {{\n    path = "{PLUGINS}"\n  }}\n}}\n'
                      f'plugin_cache_dir = "{home / "cache"}"\n'
                      f'plugin_cache_may_break_dependency_lock_file = true\n')
    return {**os.environ, 'TF_CLI_CONFIG_FILE': str(config), 'TF_IN_AUTOMATION': '1',
            'CHECKPOINT_DISABLE': '1'}


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope='module')
def providers(rendered, terraform_env, tmp_path_factory) -> dict[str, str]:
    """
    The environment that gives Terraform the providers of `terraform init`,
    done once: the main configurations and the bootstrap require the same
    provider, and an init costs as much as a validation.
    """
    directory = tmp_path_factory.mktemp('providers')
    for path in rendered['bootstrap'].glob('*.tf.json'):
        shutil.copy(path, directory)
    init = _run(['terraform', 'init', '-backend=false', '-input=false', '-no-color'],
                directory, terraform_env)
    assert init.returncode == 0, init.stdout + init.stderr
    return {**terraform_env, 'TF_DATA_DIR': str(directory / '.terraform'),
            'AZUL_TF_LOCK_FILE': str(directory / '.terraform.lock.hcl')}


def _validate(directory: Path, env: dict[str, str]) -> dict:
    # The providers' checksums, which Terraform checks the installed ones against
    shutil.copy(env['AZUL_TF_LOCK_FILE'], directory)
    validate = _run(['terraform', 'validate', '-json', '-no-color'], directory, env)
    return json.loads(validate.stdout)


@pytest.mark.parametrize('name', [*VALIDATED, 'bootstrap'])
def test_terraform_validate(rendered, providers, name):
    result = _validate(rendered[name], providers)
    assert result['valid'], json.dumps(result['diagnostics'], indent=2)
    # A warning is what breaks with the next provider: deprecated arguments
    assert result['warning_count'] == 0, json.dumps(result['diagnostics'], indent=2)


def test_a_broken_configuration_fails_validation(rendered, providers, tmp_path):
    for path in rendered['bootstrap'].glob('*.tf.json'):
        shutil.copy(path, tmp_path)
    document = json.loads((tmp_path / 'state.tf.json').read_text())
    document['resource']['aws_s3_bucket']['state']['no_such_argument'] = True
    (tmp_path / 'state.tf.json').write_text(json.dumps(document))
    result = _validate(tmp_path, providers)
    assert result['valid'] is False
    assert 'no_such_argument' in json.dumps(result['diagnostics'])


def test_checkov_finds_nothing_but_the_accepted(rendered, tmp_path):
    if not CHECKOV.is_file():
        pytest.fail(f'{CHECKOV} is missing: `make test` makes it (see the Makefile)')
    directories = [rendered[name] for name in (*VALIDATED, 'bootstrap')]
    command = [str(CHECKOV), '--framework', 'terraform_json', '--skip-download',
               '--output', 'json', '--quiet']
    for directory in directories:
        command += ['--directory', str(directory)]
    # Without a Prisma Cloud key checkov would fetch its guidelines
    env = {**os.environ, 'BC_SKIP_MAPPING': 'TRUE', 'CKV_NO_OUTPUT_COLORS': '1'}
    result = _run(command, tmp_path, env)
    assert result.stdout, result.stderr
    # One JSON document per directory, one after the other
    reports, decoder, text, i = [], json.JSONDecoder(), result.stdout, 0
    while text[i:].strip():
        report, i = decoder.raw_decode(text, len(text) - len(text[i:].lstrip()))
        reports.append(report)
    assert len(reports) == len(directories), result.stderr
    failed, parsed = {}, 0
    for report in reports:
        results = report['results']
        # A file checkov cannot parse is a file it silently does not check
        assert report['summary']['parsing_errors'] == 0, results.get('parsing_errors')
        parsed += report['summary']['passed'] + report['summary']['failed']
        for check in results['failed_checks']:
            failed.setdefault(check['check_id'], set()).add(
                f'{check["file_path"]}: {check["resource"]}: {check["check_name"]}')
    assert parsed > 100
    skips = _skips()
    unexpected = {k: sorted(v) for k, v in failed.items() if k not in skips}
    assert unexpected == {}, json.dumps(unexpected, indent=2)
    assert set(skips) - set(failed) == set(), 'skips that no longer fail: remove them'
