"""
The expected answers of HTTP tests, from the indexed documents themselves and
the reference semantics of `azul.core` (never from the service code under
test): every aggregate of an entity type, projected onto the registry.

Also the validation of response bodies against an OpenAPI document.
"""
import copy
import functools
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from openapi_schema_validator import OAS30Validator

from azul.core.documents import Aggregate, IndexedAggregate
from azul.core.filters import Filters, parse_filters
from azul.core.search import SearchRequest, Sort, reference_search
from azul.runtime import Runtime

CATALOG = 'dcp'


@functools.cache
def _documents(runtime: Runtime, entity_type: str) -> tuple[IndexedAggregate, ...]:
    registry = runtime.metadata_plugin(CATALOG).field_registry
    return tuple(IndexedAggregate(Aggregate.from_json(entity_type, doc), registry.extract(doc))
                 for doc in runtime.backend.scan(CATALOG, entity_type, Filters()))


def documents(runtime: Runtime, entity_type: str) -> tuple[IndexedAggregate, ...]:
    return _documents(runtime, entity_type)


def expected_ids(runtime: Runtime, entity_type: str, filters: Mapping[str, Any],
                 sort: str, order: str) -> list[str]:
    """The entity ids a complete walk over the pages must visit, in order."""
    registry = runtime.metadata_plugin(CATALOG).field_registry
    docs = documents(runtime, entity_type)
    request = SearchRequest(entity_type=entity_type,
                            filters=parse_filters(dict(filters), registry),
                            sort=Sort(registry[sort], order),
                            size=len(docs))
    return [hit.entity_id for hit in reference_search(docs, request).hits]


def query(**params: Any) -> str:
    """A form-encoded query string; dicts and lists are sent as JSON."""
    parts = []
    for name, value in params.items():
        if value is None:
            continue
        if not isinstance(value, str):
            value = json.dumps(value)
        parts.append(f'{name}={quote(value, safe="")}')
    return '&'.join(parts)


def response_schema(spec, path, method='get', status='200'):
    schema = spec['paths'][path][method]['responses'][status]['content']['application/json']
    return {**schema['schema'], 'components': spec.get('components', {})}


def validate(spec, path, body, method='get', status='200'):
    OAS30Validator(response_schema(spec, path, method, status)).validate(body)


def validate_reference(spec, path, body):
    """
    Validate against the reference description, except that organoids are
    objects: the reference declares strings, but the original service returns
    `{"id", "modelOrgan", "modelOrganPart"}` objects like every other inner entity.
    """
    spec = copy.deepcopy(spec)
    schema = spec['paths'][path]['get']['responses']['200']['content']['application/json']
    hit = schema['schema']
    if path == '/index/{entity_type}':
        hit = hit['properties']['hits']['items']
    assert hit['properties']['organoids']['items'] == {'type': 'string'}
    hit['properties']['organoids']['items'] = {'type': 'object'}
    validate(spec, path, body)
