"""
Test helpers shared by every tier. A module of its own, not `conftest`: with
one conftest.py per tier, `from conftest import ...` would be ambiguous.
"""
import contextlib
import http.server
import os
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = (ROOT.parent / 'shared' / 'fixtures').resolve()
BACKENDS = ('duckdb', 'opensearch')


def make_backend(kind: str, tmp_path: Path, deployment: str):
    """A fresh, empty backend of the given kind, isolated by deployment name."""
    if kind == 'duckdb':
        from azul.backends.duckdb import DuckDBBackend
        return DuckDBBackend(path=tmp_path / 'index.duckdb', prefix='azul', deployment=deployment)
    elif kind == 'opensearch':
        from azul.backends.opensearch import OpenSearchBackend
        return OpenSearchBackend(endpoint=os.environ['AZUL_ES_ENDPOINT'],
                                 prefix='azul', deployment=deployment)
    else:
        raise ValueError(kind)


STAGING_SOURCE = f'file://{FIXTURES}/hca/bundles/cans/staging'


def set_staging_cli_env(monkeypatch, tmp_path: Path) -> None:
    """The environment of an `azul` command over one small catalog on DuckDB."""
    import json
    catalogs = {'staging': {'atlas': 'hca', 'internal': False,
                            'plugins': {'metadata': {'name': 'hca'},
                                        'repository': {'name': 'canned'}},
                            'sources': [STAGING_SOURCE]}}
    monkeypatch.setenv('AZUL_CATALOGS', json.dumps(catalogs))
    monkeypatch.setenv('AZUL_DATA_DIR', str(tmp_path))
    monkeypatch.setenv('AZUL_DUCKDB_PATH', str(tmp_path / 'index.duckdb'))
    monkeypatch.setenv('AZUL_INDEX_BACKEND', 'duckdb')


@contextlib.contextmanager
def serving(server: socketserver.BaseServer) -> Iterator:
    """`server` answering on its loopback port in a thread, shut down afterwards."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def send_json(handler: http.server.BaseHTTPRequestHandler, status: int, body: Any) -> None:
    """Answer the handler's request with `body` as JSON."""
    import json
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header('Content-Type', 'application/json')
    handler.send_header('Content-Length', str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
