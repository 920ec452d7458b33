"""The embedded DuckDB backend; see `backend` for the threading model, `schema` for the tables."""
from azul.backends.duckdb.backend import DuckDBBackend

__all__ = ['DuckDBBackend']
