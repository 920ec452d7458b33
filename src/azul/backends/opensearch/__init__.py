"""The OpenSearch implementation of `SearchBackend`; see `backend` for its policies."""
from azul.backends.opensearch.backend import OpenSearchBackend

__all__ = ['OpenSearchBackend']
