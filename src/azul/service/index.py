"""
GET|POST /index/{entity_type} (search with facets and paging) and
GET /index/{entity_type}/{entity_id} (one entity).
"""
import json
from collections.abc import Mapping
from typing import Any

import attrs

from azul.config import Catalog
from azul.core.filters import Filters, parse_filters
from azul.core.search import Cursor, SearchRequest, Sort
from azul.errors import BadRequestError, NotFoundError
from azul.plugins.metadata.base import HitContext, MetadataPlugin
from azul.runtime import Runtime
from azul.service import facets, pagination
from azul.service.request import (
    Request,
    choice_param,
    int_param,
    json_param,
    link,
    parameters,
    string_param,
)
from azul.service.responses import Response, json_response

DEFAULT_SIZE = 10
MAX_SIZE = 1000
ORDERS = ('asc', 'desc')
SEARCH_PARAMS = ('catalog', 'filters', 'size', 'sort', 'order', 'search_after',
                 'search_before', 'search_after_uid', 'search_before_uid')
# Longer ids cannot exist; refusing them early keeps junk out of backend queries
MAX_ENTITY_ID_LENGTH = 256


def catalog_param(runtime: Runtime, params: Mapping[str, Any]) -> Catalog:
    return runtime.catalog(string_param(params, 'catalog'))


def filters_param(params: Mapping[str, Any], plugin: MetadataPlugin) -> Filters:
    value = json_param(params, 'filters')
    if value is None:
        return Filters()
    if not isinstance(value, Mapping):
        raise BadRequestError('The `filters` parameter must be a JSON object mapping field '
                              'names to {relation: values}')
    return parse_filters(value, plugin.field_registry)


def entity_type_param(plugin: MetadataPlugin, entity_type: str) -> str:
    if entity_type not in plugin.exposed_entity_types:
        types = ', '.join(plugin.exposed_entity_types)
        raise BadRequestError(f'Unknown entity type {entity_type!r}; the entity types are: '
                              f'{types}')
    return entity_type


@attrs.frozen
class SearchQuery:
    """A parsed /index/{entity_type} request."""
    catalog: Catalog
    plugin: MetadataPlugin
    request: SearchRequest


def parse_search(runtime: Runtime, request: Request, entity_type: str) -> SearchQuery:
    params = parameters(request, SEARCH_PARAMS, body_allowed=True)
    catalog = catalog_param(runtime, params)
    plugin = runtime.metadata_plugin(catalog)
    entity_type = entity_type_param(plugin, entity_type)
    registry = plugin.field_registry
    filters = filters_param(params, plugin)
    size = int_param(params, 'size', DEFAULT_SIZE, 1, MAX_SIZE)
    default_sort, default_order = plugin.default_sort(entity_type)
    sort_name = string_param(params, 'sort', default_sort)
    if sort_name not in registry or not registry[sort_name].sortable:
        sortable = ', '.join(f.name for f in registry if f.sortable)
        raise BadRequestError(f'Invalid value {sort_name!r} for parameter \'sort\'; expected '
                              f'one of: {sortable}')
    order = choice_param(params, 'order', ORDERS, default_order)
    sort = Sort(registry[sort_name], order)
    after, before = _cursors(params, sort)
    search = SearchRequest(entity_type=entity_type,
                           filters=filters,
                           sort=sort,
                           size=size,
                           facets=registry.facets,
                           search_after=after,
                           search_before=before)
    return SearchQuery(catalog, plugin, search)


def _cursors(params: Mapping[str, Any], sort: Sort) -> tuple[Cursor | None, Cursor | None]:
    result = []
    for name in ('search_after', 'search_before'):
        uid = string_param(params, name + '_uid')
        if params.get(name) is None:
            if uid is not None:
                raise BadRequestError(f'The parameter {name + "_uid"!r} requires {name!r}')
            result.append(None)
        else:
            result.append(pagination.decode_cursor(name, params[name], uid, sort.field))
    after, before = result
    if after is not None and before is not None:
        raise BadRequestError("The parameters 'search_after' and 'search_before' are mutually "
                              "exclusive; give at most one")
    return after, before


def search(runtime: Runtime, request: Request, entity_type: str) -> Response:
    query = parse_search(runtime, request, entity_type)
    catalog, plugin, search_request = query.catalog.name, query.plugin, query.request
    backend = runtime.backend
    result = backend.search(catalog, pagination.overfetch(search_request))
    page = pagination.page(search_request, result)
    registry = plugin.field_registry
    companions = plugin.facet_companions()
    requests = facets.companion_requests(search_request.entity_type, search_request.filters,
                                         registry, companions)
    values = facets.companion_values(companions, {
        name: backend.summary(catalog, summary_request)
        for name, summary_request in requests.items()
    })
    base_url = request.base_url(runtime.config.service_url)
    context = HitContext(catalog=catalog, service_url=base_url)
    sort = search_request.sort
    repeated = {
        'catalog': catalog,
        'filters': _json(search_request.filters.to_json()),
        'size': str(search_request.size),
        'sort': sort.field.name,
        'order': sort.order,
    }
    return json_response({
        'hits': [plugin.shape_hit(search_request.entity_type, hit.document, context)
                 for hit in page.hits],
        'pagination': pagination.pagination(search_request, page, repeated,
                                            lambda params: link(base_url, request.path,
                                                                params)),
        'termFacets': facets.term_facets(registry, result.facets, companions, values),
    })


def entity(runtime: Runtime, request: Request, entity_type: str, entity_id: str) -> Response:
    params = parameters(request, ('catalog',))
    catalog = catalog_param(runtime, params)
    plugin = runtime.metadata_plugin(catalog)
    entity_type = entity_type_param(plugin, entity_type)
    document = None
    if 0 < len(entity_id) <= MAX_ENTITY_ID_LENGTH:
        document = runtime.backend.get_aggregate(catalog.name, entity_type, entity_id)
    if document is None:
        raise NotFoundError(f'No {entity_type} entity with id {entity_id!r} in catalog '
                            f'{catalog.name!r}')
    context = HitContext(catalog=catalog.name,
                         service_url=request.base_url(runtime.config.service_url))
    return json_response(plugin.shape_hit(entity_type, document, context))


def _json(value: Any) -> str:
    return json.dumps(value, separators=(',', ':'))
