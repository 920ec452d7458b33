"""
The product (`azul`, and the Lambda apps built on it) must run without
`azul_dev`, which the Lambda package leaves out: a module that needed it would
import on a developer's machine and fail only once deployed.
"""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / 'src' / 'azul'

#: Modules of the local CLI that generate synthetic catalogs on request; each
#: imports `azul_dev` inside the function that needs it, never at module level
MAY_IMPORT_DEV = {'azul.adapters.cli', 'azul.adapters.demo'}

# Imports every module of `azul` and both apps with `azul_dev` made
# unimportable, in a fresh interpreter so that nothing is already loaded
_PROBE = r'''
import importlib, importlib.util, json, pkgutil, sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.partition('.')[0] == 'azul_dev':
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)

sys.meta_path.insert(0, Refuse())
import azul

failed = {}
names = [m.name for m in pkgutil.walk_packages(azul.__path__, 'azul.')]
for name in names:
    try:
        importlib.import_module(name)
    except Exception as e:
        failed[name] = repr(e)
for app in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location('app_' + app.split('/')[-2], app)
    try:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    except Exception as e:
        failed[app] = repr(e)
print(json.dumps({'imported': names, 'failed': failed}))
'''


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _dev_imports(tree: ast.Module) -> list[tuple[ast.AST, bool]]:
    """Each import of `azul_dev` in the module, and whether it is at module level."""
    # What runs on import: everything not inside a function body
    top_level, pending = set(), list(tree.body)
    while pending:
        node = pending.pop()
        top_level.add(id(node))
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            pending.extend(ast.iter_child_nodes(node))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or '']
        else:
            continue
        if any(name.partition('.')[0] == 'azul_dev' for name in names):
            found.append((node, id(node) in top_level))
    return found


def test_only_the_cli_imports_azul_dev_and_only_when_called():
    offenders = []
    for path in sorted(SRC.rglob('*.py')):
        name = _module_name(path)
        for node, at_module_level in _dev_imports(ast.parse(path.read_text(), str(path))):
            if at_module_level or name not in MAY_IMPORT_DEV:
                offenders.append(f'{path.relative_to(ROOT)}:{node.lineno}')
    assert offenders == []


def test_the_check_finds_a_module_level_import():
    tree = ast.parse('import os\nfrom azul_dev.synth import generate\n'
                     'def f():\n    import azul_dev.benchdata\n')
    assert [(node.lineno, top) for node, top in _dev_imports(tree)] == [(2, True), (4, False)]


@pytest.fixture(scope='module')
def probe() -> dict:
    apps = [str(ROOT / 'lambdas' / app / 'app.py') for app in ('service', 'indexer')]
    result = subprocess.run([sys.executable, '-c', _PROBE, *apps], capture_output=True,
                            text=True, cwd=ROOT, timeout=120, check=True)
    return json.loads(result.stdout.splitlines()[-1])


def test_every_product_module_imports_without_azul_dev(probe):
    assert probe['failed'] == {}
    # The walk found the package's modules, not an empty or foreign `azul`
    expected = {_module_name(p) for p in SRC.rglob('*.py')} - {'azul'}
    assert expected <= set(probe['imported'])


def test_the_probe_notices_a_missing_module(tmp_path):
    # The same refusal, applied to a module that does need azul_dev
    module = tmp_path / 'needs_dev.py'
    module.write_text('import azul_dev.synth\n')
    probe = _PROBE.replace("names = [m.name for m in pkgutil.walk_packages(azul.__path__, "
                           "'azul.')]", 'names = []')
    assert probe != _PROBE
    result = subprocess.run([sys.executable, '-c', probe, str(module)], capture_output=True,
                            text=True, cwd=ROOT, timeout=60, check=True)
    failed = json.loads(result.stdout.splitlines()[-1])['failed']
    assert list(failed) == [str(module)] and 'azul_dev' in failed[str(module)]
