"""
GET /index/summary: the plugin names the backend summary requests behind it
and shapes their results; this module only runs them.
"""
from azul.runtime import Runtime
from azul.service.index import catalog_param, filters_param
from azul.service.request import Request, parameters
from azul.service.responses import Response, json_response

SUMMARY_PARAMS = ('catalog', 'filters')


def summary(runtime: Runtime, request: Request) -> Response:
    params = parameters(request, SUMMARY_PARAMS)
    catalog = catalog_param(runtime, params)
    plugin = runtime.metadata_plugin(catalog)
    filters = filters_param(params, plugin, runtime.config.limits)
    backend = runtime.backend
    results = {
        name: backend.summary(catalog.name, summary_request)
        for name, summary_request in plugin.summary_requests(filters).items()
    }
    return json_response(plugin.shape_summary(results))
