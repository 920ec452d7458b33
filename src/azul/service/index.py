"""
GET|POST /index/{entity_type} (search with facets and paging) and
GET /index/{entity_type}/{entity_id} (one entity).
"""
import json
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import attrs

from azul.auth.reify import ACCESSIBLE, Access
from azul.config import Catalog
from azul.core.fields import Field, FieldRegistry
from azul.core.filters import Filters, Is, decode_filters
from azul.core.limits import Limits
from azul.core.search import Cursor, SearchRequest, Sort
from azul.errors import BadRequestError, NotFoundError
from azul.plugins.metadata.base import HitContext, MetadataPlugin
from azul.runtime import Runtime
from azul.service import access, facets, pagination
from azul.service.catalogs import catalog_param
from azul.service.request import (
    Request,
    json_param,
    link,
    parameters,
    size_param,
    string_param,
)
from azul.service.responses import Response, json_response

DEFAULT_SIZE = 10
MAX_SIZE = 1000
ORDERS = ('asc', 'desc')
# Validated in this order, as the original validates them
SEARCH_PARAMS = ('catalog', 'filters', 'order', 'search_after', 'search_after_uid',
                 'search_before', 'search_before_uid', 'size', 'sort')
ID_FIELD = 'entryId'


def filters_param(params: Mapping[str, Any], plugin: MetadataPlugin,
                  limits: Limits = Limits()) -> Filters:
    """
    The `filters` parameter: JSON that does not parse is refused here, with
    the original's message; what the filters say, and whether they stay
    within the `limits`, is the parser's to judge.
    """
    value = json_param(params, 'filters', limits)
    if value is None:
        return Filters()
    return decode_filters(value, plugin.field_registry, limits)


def lookup_filters(registry: FieldRegistry, **values: str) -> Filters:
    """
    Filters that find an entity or file by identifiers the service itself
    validated: built directly, since they are no client's filters.
    """
    return Filters(tuple(Is(registry[name], (registry[name].normalize(value),))
                         for name, value in values.items()))


def field_param(registry: FieldRegistry, name: str) -> Field:
    if name not in registry:
        raise BadRequestError(f'Unknown field `{name}`')
    return registry[name]


def order_param(params: Mapping[str, Any], default: str) -> str:
    order = string_param(params, 'order', default)
    if order not in ORDERS:
        raise BadRequestError(f'Unknown order `{order}`. Must be one of {ORDERS}')
    return order


def entity_type_param(catalog: Catalog, plugin: MetadataPlugin, entity_type: str) -> str:
    if entity_type not in plugin.exposed_entity_types:
        # The original shows the entity types as a Python set
        types = '{' + ', '.join(map(repr, plugin.exposed_entity_types)) + '}'
        raise BadRequestError(f'Entity type {entity_type!r} is invalid for catalog '
                              f'{catalog.name!r}. Must be one of {types}.')
    return entity_type


def entity_id_param(entity_id: str) -> str:
    """An entity id is a UUID in canonical form, of an RFC 4122 version."""
    try:
        parsed = UUID(entity_id)
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != entity_id:
        raise BadRequestError(f'{entity_id!r} is not a valid UUID.')
    if parsed.version not in (1, 3, 4, 5):
        raise BadRequestError(f'{entity_id!r} is not a valid UUID.',
                              f'Not a valid RFC-4122 UUID (undefined version {parsed.version}).')
    return entity_id


@attrs.frozen
class SearchQuery:
    """A parsed /index/{entity_type} request."""
    catalog: Catalog
    plugin: MetadataPlugin
    request: SearchRequest


def parse_search(runtime: Runtime, request: Request, entity_type: str) -> SearchQuery:
    # The order of the checks is the original's: parameter names, then each
    # parameter in the order of SEARCH_PARAMS, then the entity type
    limits = runtime.config.limits
    params = parameters(request, SEARCH_PARAMS, body_allowed=True, limits=limits)
    catalog = catalog_param(runtime, params)
    plugin = runtime.metadata_plugin(catalog)
    registry = plugin.field_registry
    filters = filters_param(params, plugin, limits)
    order = string_param(params, 'order')
    if order is not None:
        order_param(params, order)
    for name in ('search_after', 'search_before'):
        json_param(params, name, limits)
    size = size_param(params, 'size', DEFAULT_SIZE, MAX_SIZE)
    sort_name = string_param(params, 'sort')
    if sort_name is not None:
        field_param(registry, sort_name)
    entity_type = entity_type_param(catalog, plugin, entity_type)
    default_sort, default_order = plugin.default_sort(entity_type)
    sort_field = registry[sort_name or default_sort]
    if not sort_field.sortable:
        raise BadRequestError(f'The field `{sort_field.name}` cannot be used for sorting')
    sort = Sort(sort_field, order_param(params, default_order))
    after, before = _cursors(params, sort)
    search = SearchRequest(entity_type=entity_type,
                           filters=filters,
                           sort=sort,
                           size=size,
                           # `accessible` depends on the caller: counted from the sources
                           facets=tuple(f for f in registry.facets if f.name != ACCESSIBLE),
                           search_after=after,
                           search_before=before)
    return SearchQuery(catalog, plugin, search)


def _cursors(params: Mapping[str, Any], sort: Sort) -> tuple[Cursor | None, Cursor | None]:
    result = []
    for name in ('search_after', 'search_before'):
        uid = string_param(params, name + '_uid')
        if params.get(name) is None:
            # Without its cursor, a uid says nothing; the original ignores it
            result.append(None)
        else:
            result.append(pagination.decode_cursor(name, params[name], uid, sort.field))
    after, before = result
    if after is not None and before is not None:
        raise BadRequestError("The parameters 'search_after' and 'search_before' are mutually "
                              "exclusive; give at most one")
    return after, before


def _for_caller(runtime: Runtime, request: Request, query: SearchQuery
                ) -> tuple[SearchRequest, Access]:
    """The backend's request for this caller, and the caller's access."""
    catalog, plugin, search_request = query.catalog, query.plugin, query.request
    readable = access.readable(runtime, request, catalog)
    caller = access.entity_access(catalog, plugin, readable, search_request.entity_type)
    filters = access.reified(search_request.filters, plugin, caller)
    return attrs.evolve(search_request, filters=filters), caller


def search(runtime: Runtime, request: Request, entity_type: str) -> Response:
    query = parse_search(runtime, request, entity_type)
    catalog, plugin, search_request = query.catalog.name, query.plugin, query.request
    backend_request, caller = _for_caller(runtime, request, query)
    backend = runtime.backend
    result = backend.search(catalog, pagination.overfetch(backend_request))
    page = pagination.page(backend_request, result)
    registry = plugin.field_registry
    companions = plugin.facet_companions()
    requests = facets.companion_requests(search_request.entity_type, backend_request.filters,
                                         registry, companions)
    summaries = {name: backend.summary(catalog, summary_request)
                 for name, summary_request in requests.items()}
    values = facets.companion_values(companions, summaries)
    if ACCESSIBLE in registry and plugin.source_id_field in registry:
        accessible = facets.accessible_requests(search_request.entity_type,
                                                backend_request.filters, registry, caller,
                                                plugin.source_id_field, result.total)
        counts = {term: r if isinstance(r, int) else backend.summary(catalog, r)['count']
                  for term, r in accessible.items()}
        result = attrs.evolve(result, facets={**result.facets,
                                              ACCESSIBLE: facets.accessible_facet(counts)})
    base_url = request.base_url(runtime.config.service_url)
    context = HitContext(catalog=catalog, service_url=base_url, readable=caller.readable)
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
    """
    One entity as a hit. As in the original, the search parameters are
    accepted and validated, and `filters` apply: an entity they exclude is
    not found.
    """
    query = parse_search(runtime, request, entity_type)
    catalog, plugin, search_request = query.catalog, query.plugin, query.request
    entity_id = entity_id_param(entity_id)
    backend_request, caller = _for_caller(runtime, request, query)
    filters = backend_request.filters
    by_id = lookup_filters(plugin.field_registry, **{ID_FIELD: entity_id})
    lookup = attrs.evolve(backend_request,
                          filters=Filters(filters.terms + by_id.terms, filters.scope),
                          facets=(), size=1, search_after=None, search_before=None)
    result = runtime.backend.search(catalog.name, lookup)
    if not result.hits:
        raise NotFoundError(f"Can't find an entity in {search_request.entity_type} "
                            f"with an uuid, {entity_id}.")
    context = HitContext(catalog=catalog.name,
                         service_url=request.base_url(runtime.config.service_url),
                         readable=caller.readable)
    return json_response(plugin.shape_hit(search_request.entity_type,
                                          result.hits[0].document, context))


def _json(value: Any) -> str:
    return json.dumps(value, separators=(',', ':'))
