"""GET /index/catalogs: every catalog with its plugins and per-index default sort."""
from typing import Any

from azul.config import Catalog
from azul.runtime import Runtime
from azul.service.request import Request, parameters
from azul.service.responses import Response, json_response


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
    parameters(request, ())
    config = runtime.config
    return json_response({
        'default_catalog': config.default_catalog.name,
        'catalogs': {c.name: describe(runtime, c) for c in config.catalogs},
    })
