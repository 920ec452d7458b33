"""
Test-session plumbing shared by every tier.

The OpenSearch node: unless AZUL_ES_ENDPOINT is set or the session only runs
the unit tier (no I/O, no JVM), the controlling pytest process starts one
node from `scripts/opensearch` before any test runs and stops it at the end.
xdist workers inherit the endpoint through the environment, so one node
serves every worker. Missing Java or Maven fails the
session with a message; the OpenSearch tests are never silently skipped.
"""
import importlib.util
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from azul_testing import BACKENDS, FIXTURES, ROOT, make_backend

_node = None


def _load_node_module():
    path = ROOT / 'scripts' / 'opensearch' / 'node.py'
    spec = importlib.util.spec_from_file_location('azul_opensearch_node', path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def pytest_configure(config):
    global _node
    is_worker = hasattr(config, 'workerinput')
    if is_worker or os.environ.get('AZUL_ES_ENDPOINT'):
        return
    if config.option.collectonly or _unit_tier_only(config):
        return
    node_module = _load_node_module()
    _node = node_module.OpenSearchNode()
    _node.start()
    os.environ['AZUL_ES_ENDPOINT'] = _node.url


def _unit_tier_only(config) -> bool:
    """True if every path the session was given lies in test/unit: no JVM then."""
    unit = (ROOT / 'test' / 'unit').resolve()
    paths = [Path(arg.split('::')[0]).resolve() for arg in config.args]
    return bool(paths) and all(p == unit or unit in p.parents for p in paths)


def pytest_unconfigure(config):
    global _node
    if _node is not None:
        _node.stop()
        os.environ.pop('AZUL_ES_ENDPOINT', None)
        _node = None


@pytest.fixture(scope='session')
def fixtures_dir() -> Path:
    assert FIXTURES.is_dir(), f'The shared fixtures are missing: expected {FIXTURES}'
    return FIXTURES


@pytest.fixture(scope='session')
def es_endpoint() -> str:
    endpoint = os.environ.get('AZUL_ES_ENDPOINT')
    assert endpoint, 'AZUL_ES_ENDPOINT is not set and no test node was started'
    return endpoint


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path) -> Iterator:
    """One empty backend per kind; every test using it runs against both."""
    deployment = 't' + uuid.uuid4().hex[:10]
    instance = make_backend(request.param, tmp_path, deployment)
    try:
        yield instance
    finally:
        instance.drop_deployment()
        instance.close()
