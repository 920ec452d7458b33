"""
GET /index/catalogs: every catalog with its plugins and per-index default sort;
and the `catalog` parameter of every other route.
"""
import re
from collections.abc import Mapping
from typing import Any

from azul.config import Catalog
from azul.errors import BadRequestError, NotFoundError
from azul.runtime import Runtime
from azul.service.request import Request, parameters, string_param
from azul.service.responses import Response, json_response

# What the original accepts as a catalog name at all: a malformed name is a
# 400, a well-formed one that is not configured a 404
_catalog_name = re.compile(r'(?=.{1,64}$)[a-z][a-z0-9]*(-[a-z0-9]+)*')


def validate_catalog(runtime: Runtime, name: str | None) -> Catalog:
    """The named catalog, the default one for None."""
    if name is None:
        return runtime.config.default_catalog
    if _catalog_name.fullmatch(name) is None:
        # Two arguments: the message is their tuple, as in the original
        raise BadRequestError('Catalog name is invalid', name)
    catalogs = runtime.config.catalogs
    for catalog in catalogs:
        if catalog.name == name:
            return catalog
    # The original shows the names as a Python set
    names = '{' + ', '.join(repr(c.name) for c in catalogs) + '}'
    raise NotFoundError(f'Catalog name {name!r} does not exist. Must be one of {names}.')


def catalog_param(runtime: Runtime, params: Mapping[str, Any]) -> Catalog:
    return validate_catalog(runtime, string_param(params, 'catalog'))


def describe(runtime: Runtime, catalog: Catalog) -> dict[str, Any]:
    plugin = runtime.metadata_plugin(catalog)
    indices = {}
    for entity_type in plugin.exposed_entity_types:
        sort, order = plugin.default_sort(entity_type)
        indices[entity_type] = {'default_sort': sort, 'default_order': order}
    return {
        'atlas': catalog.atlas,
        'internal': catalog.internal,
        'plugins': {
            'metadata': {'name': catalog.metadata_plugin, 'indices': indices},
            'repository': {'name': catalog.repository_plugin, 'sources': list(catalog.sources)},
        },
    }


def catalogs(runtime: Runtime, request: Request) -> Response:
    # The original reads no parameter here, and refuses none
    parameters(request, (), ignore_unknown=True)
    config = runtime.config
    return json_response({
        'default_catalog': config.default_catalog.name,
        'catalogs': {c.name: describe(runtime, c) for c in config.catalogs},
    })
