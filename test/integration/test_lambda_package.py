"""
`chalice package` of both apps, as `make package` runs it, and what the zips
hold: the runtime code and nothing else, all of it, within Lambda's limit.

The first run on a machine installs the dependencies (about half a minute,
from the package index); later runs reuse them from build/lambda-dependencies.
"""
import json
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from azul.deploy.package import APPS, EXCLUDED, package_apps, unzipped_size

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT = 'dev'
#: Lambda's limit of a function's code and layers, unzipped
LIMIT = 250 * 1024 * 1024

# One worker builds the packages once for all the tests of the module
pytestmark = pytest.mark.xdist_group('lambda_package')

#: What Lambda's Python runtime provides besides the standard library
RUNTIME_PROVIDED = ('boto3', 'botocore', 's3transfer', 'jmespath')

#: Modules of the local server and CLI: they need what the package leaves
#: out (`EXCLUDED`), and no function imports them
LOCAL_ONLY = {
    'azul.adapters.demo': 'tqdm',
    'azul.adapters.progress': 'tqdm',
    'azul.adapters.server': 'chalice',
    'azul.backends.duckdb': 'duckdb',
    'azul.plugins.repository.tdr.local_bigquery': 'duckdb',
}


@pytest.fixture(scope='module')
def zips(tmp_path_factory) -> dict[str, Path]:
    build = tmp_path_factory.mktemp('build')
    return package_apps(APPS, DEPLOYMENT, 'us-east-1', build=build)


@pytest.fixture(scope='module')
def names(zips) -> dict[str, list[str]]:
    result = {}
    for app, path in zips.items():
        with zipfile.ZipFile(path) as z:
            result[app] = z.namelist()
    return result


def unwanted(names: list[str]) -> list[str]:
    """The entries of a zip that are no runtime code of ours or of a requirement."""
    found = []
    for name in names:
        parts = PurePosixPath(name).parts
        if (parts[0] in ('azul_dev', 'test', 'scripts', 'lambdas', 'src', 'build')
                or '__pycache__' in parts or name.endswith('.pyc')
                or parts[0] in {'boto3', 'botocore', *EXCLUDED} - {'chalice'}
                or parts[0] == 'chalice' and name not in ('chalice/__init__.py',
                                                           'chalice/app.py')
                or parts[0] == 'azul' and any(word in part for part in parts[1:]
                                              for word in ('synth', 'bench', 'test'))):
            found.append(name)
    return found


def test_the_content_check_finds_what_does_not_belong():
    names = ['app.py', 'azul/config.py', 'chalice/app.py', 'certifi/tests/test_certify.py',
             'azul_dev/synth/generator.py', 'azul/synth/bundle.py', 'azul/bench_data.py',
             'azul/service/__pycache__/index.cpython-311.pyc', 'scripts/bench_indexer.py',
             'test/conftest.py', 'duckdb/__init__.py', 'botocore/client.py',
             'chalice/cli/__init__.py']
    assert unwanted(names) == names[4:]


def test_chalice_packages_both_apps(zips):
    for app, path in zips.items():
        terraform = json.loads((path.parent / 'chalice.tf.json').read_text())
        functions = terraform['resource']['aws_lambda_function']
        assert functions, app
        for function in functions.values():
            assert function['filename'].endswith('deployment.zip')
            assert function['runtime'] == f'python{sys.version_info[0]}.{sys.version_info[1]}'
            assert function['handler'].startswith('app.')
        config = json.loads((path.parent / 'project' / '.chalice' / 'config.json').read_text())
        assert list(config['stages']) == [DEPLOYMENT]


def test_the_packages_hold_only_runtime_code(names):
    for app in APPS:
        assert 'app.py' in names[app]
        assert unwanted(names[app]) == [], app


def test_the_packages_hold_every_module_of_azul(names):
    expected = {'/'.join(p.relative_to(ROOT / 'src').parts)
                for p in (ROOT / 'src' / 'azul').rglob('*.py')
                if '__pycache__' not in p.parts}
    assert len(expected) > 100
    for app in APPS:
        packaged = {n for n in names[app] if n.startswith('azul/') and n.endswith('.py')}
        assert packaged == expected, app


def test_the_packages_are_within_the_limit(zips, record_property):
    for app, path in zips.items():
        size = unzipped_size(path)
        record_property(f'{app}_zip_bytes', path.stat().st_size)
        record_property(f'{app}_unzipped_bytes', size)
        print(f'{app}: {path.stat().st_size / 1e6:.1f} MB zipped, {size / 1e6:.1f} MB unzipped')
        assert size < LIMIT, app


# Run with only the zip and what the runtime provides on sys.path: no
# site-packages, no checkout. Imports the app as Lambda does, then every
# module of `azul`, listed from the files (a package that fails to import
# would hide its modules from pkgutil)
_PROBE = r'''
import importlib, json, os, sys
code, runtime = sys.argv[1:3]
sys.path[:0] = [code, runtime]
import app
assert os.path.dirname(app.__file__) == code, app.__file__
failed = {}
for directory, _, files in os.walk(os.path.join(code, 'azul')):
    package = os.path.relpath(directory, code).replace(os.sep, '.')
    for file in sorted(files):
        if file.endswith('.py'):
            name = package if file == '__init__.py' else f'{package}.{file[:-3]}'
            try:
                module = importlib.import_module(name)
            except ImportError as e:
                failed[name] = e.name
            else:
                assert module.__file__.startswith(code), module.__file__
print(json.dumps(failed))
'''


def _run_from_zip(path: Path, probe: str, tmp_path: Path) -> str:
    """Run `probe` with only the zip's contents and the runtime's on sys.path."""
    code = tmp_path / 'task'
    with zipfile.ZipFile(path) as z:
        z.extractall(code)
    # Lambda's runtime directory, made of the copies this virtualenv holds
    runtime = tmp_path / 'runtime'
    runtime.mkdir()
    for name in RUNTIME_PROVIDED:
        module = __import__(name)
        (runtime / name).symlink_to(Path(module.__file__).parent)
    result = subprocess.run([sys.executable, '-I', '-S', '-c', probe, str(code), str(runtime)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120,
                            env={'AZUL_DEPLOYMENT': DEPLOYMENT})
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1]


@pytest.mark.parametrize('app', APPS)
def test_the_packaged_app_imports_from_the_zip_alone(zips, app, tmp_path):
    output = _run_from_zip(zips[app], _PROBE, tmp_path)
    failed = json.loads(output)
    # Only a local module may need a distribution that the package leaves out
    assert {name: missing.partition('.')[0] for name, missing in failed.items()} == {
        name: _local_only(name) for name in failed}
    # ... and the list is not stale: each of its modules does need one
    assert set(LOCAL_ONLY) <= set(failed)


def _local_only(name: str) -> str | None:
    """The distribution the module needs, if it is a local-only one."""
    for module, needs in LOCAL_ONLY.items():
        if name == module or name.startswith(module + '.'):
            return needs
    return None


# Requests that need no settings, as API Gateway passes them to the function
_REQUESTS = r'''
import json, sys
sys.path[:0] = sys.argv[1:3]
import app

def get(resource, path, parameters=None):
    event = {'resource': resource, 'path': path, 'httpMethod': 'GET',
             'headers': {'host': 'example.org'}, 'multiValueHeaders': {},
             'queryStringParameters': None, 'multiValueQueryStringParameters': None,
             'pathParameters': parameters, 'stageVariables': None, 'body': None,
             'isBase64Encoded': False,
             'requestContext': {'resourcePath': resource, 'httpMethod': 'GET',
                                'path': '/dev' + path, 'stage': 'dev'}}
    response = app.app(event, None)
    return [response['statusCode'], response['headers'].get('Content-Type'),
            response['body'][:100]]

print(json.dumps([get('/', '/'),
                  get('/static/{file}', '/static/swagger-ui-bundle.js',
                      {'file': 'swagger-ui-bundle.js'}),
                  get('/health/basic', '/health/basic')]))
'''


def test_the_packaged_service_serves_swagger_ui_from_the_zip(zips, tmp_path):
    # The page's script comes out of swagger-ui-bundle's package data
    page, script, health = json.loads(_run_from_zip(zips['service'], _REQUESTS, tmp_path))
    assert page[:2] == [200, 'text/html; charset=utf-8'] and '<!DOCTYPE html>' in page[2]
    assert script[:2] == [200, 'application/javascript; charset=utf-8'] and script[2]
    assert health == [200, 'application/json', '{"up": true}']
