"""
Test helpers shared by every tier. A module of its own, not `conftest`: with
one conftest.py per tier, `from conftest import ...` would be ambiguous.
"""
import os
from pathlib import Path

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
