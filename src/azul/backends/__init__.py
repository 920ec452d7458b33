"""
Index backends. `make_backend` picks the implementation the configuration
names; both implement `azul.backends.base.SearchBackend`.
"""
from azul.backends.base import SearchBackend
from azul.config import Config


def make_backend(config: Config) -> SearchBackend:
    # Imported lazily: a DuckDB deployment need not load the OpenSearch client
    if config.index_backend == 'duckdb':
        from azul.backends.duckdb import DuckDBBackend
        config.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        return DuckDBBackend(path=config.duckdb_path,
                             prefix=config.index_prefix,
                             deployment=config.deployment,
                             memory_limit=config.duckdb_memory_limit,
                             **({} if config.duckdb_bitmap_mb is None
                                else {'bitmap_limit': config.duckdb_bitmap_mb * 2 ** 20}))
    elif config.index_backend == 'opensearch':
        from azul.backends.opensearch import OpenSearchBackend
        return OpenSearchBackend(endpoint=config.es_endpoint,
                                 prefix=config.index_prefix,
                                 deployment=config.deployment,
                                 auth=config.es_auth,
                                 timeout=config.es_timeout,
                                 sigv4_region=config.aws_region if config.es_sigv4 else None)
    else:
        raise AssertionError(config.index_backend)
