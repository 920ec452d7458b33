"""
Routes declared as data by the service modules that own them, so that a
module adds an endpoint without editing the Chalice app: the app turns each
`Route` into a Chalice view (and a CORS pre-flight), the local server serves
them through Chalice like every other route.
"""
from collections.abc import Callable, Sequence

import attrs

from azul.service.responses import Response

GET = ('GET', 'HEAD')


@attrs.frozen
class Route:
    #: Chalice path, e.g. `/ga4gh/drs/v1/objects/{object_id}`
    path: str
    methods: tuple[str, ...]
    #: `handler(runtime, request, *path_params)`, path parameters in the
    #: order the path names them
    handler: Callable[..., Response]
    #: Unique view name
    name: str
    #: Content types a body may have (Chalice refuses others with a 415)
    content_types: tuple[str, ...] = ('application/json',)


def module_routes() -> Sequence[Route]:
    """Every route declared by a service module."""
    from azul.service import drs, manifest
    return (*manifest.ROUTES, *drs.ROUTES)
