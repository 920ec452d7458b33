"""
Fixtures of the OpenSearch tests that read or write the node directly.
"""
import uuid
from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch

from azul.backends.opensearch import OpenSearchBackend


@pytest.fixture
def deployment(es_endpoint) -> Iterator[str]:
    """A deployment name of its own, its indices dropped afterwards."""
    name = 't' + uuid.uuid4().hex[:10]
    yield name
    cleanup = OpenSearchBackend(es_endpoint, prefix='azul', deployment=name)
    cleanup.drop_deployment()
    cleanup.close()


@pytest.fixture
def raw(es_endpoint) -> Iterator[OpenSearch]:
    """A client of the node, for what the backend does not expose."""
    client = OpenSearch([es_endpoint])
    yield client
    client.close()
