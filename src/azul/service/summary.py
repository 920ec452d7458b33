"""
GET /index/summary: the plugin names the backend summary requests behind it
and shapes their results; this module only runs them.
"""
import attrs

from azul.runtime import Runtime
from azul.service import access
from azul.service.index import catalog_param, filters_param
from azul.service.request import Request, parameters
from azul.service.responses import Response, json_response

SUMMARY_PARAMS = ('catalog', 'filters')


def summary(runtime: Runtime, request: Request) -> Response:
    params = parameters(request, SUMMARY_PARAMS)
    catalog = catalog_param(runtime, params)
    plugin = runtime.metadata_plugin(catalog)
    filters = filters_param(params, plugin, runtime.config.limits)
    readable = access.readable(runtime, request, catalog)
    backend = runtime.backend
    results = {}
    for name, summary_request in plugin.summary_requests(filters).items():
        # Each entity type is limited to the caller's sources as its hits are
        caller = access.entity_access(catalog, plugin, readable, summary_request.entity_type)
        filters_ = access.reified(summary_request.filters, plugin, caller)
        results[name] = backend.summary(catalog.name, attrs.evolve(summary_request,
                                                                   filters=filters_))
    return json_response(plugin.shape_summary(results))
