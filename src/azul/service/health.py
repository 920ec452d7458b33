"""
GET /health, /health/basic, /health/fast, /health/cached and /health/{keys}.

Each key is one check returning `{"up": bool, ...details}`; a response is 200
if every check it ran is up, else 503; an unknown key is a 400. The routes
read one parameter, `catalog`: `progress` counts that catalog's unindexed work
(where the queue can tell) and `api_endpoints` searches that catalog. Any other
parameter is ignored, as the original ignores them. The key `elasticsearch`
names the index backend whatever its kind, because monitors written against
Azul look for it.

Queue statistics come from the indexer's queue, which the runtime exposes as
`runtime.queue_stats` (anything with `counts()`, see `QueueStats`): the
`notifications` queue holds unindexed bundles, the `tallies` queue documents
still to be aggregated. Without one (None), the queues are reported up and empty.
"""
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from azul.config import Catalog
from azul.errors import NotFoundError
from azul.indexer.queue import NOTIFICATIONS, TALLIES
from azul.masking import mask_credentials
from azul.runtime import Runtime
from azul.service.request import Request, parameters
from azul.service.responses import Response, json_response

Check = dict[str, Any]


class QueueStats(Protocol):
    def counts(self) -> Mapping[str, Mapping[str, int]]:
        """
        Per queue name, `{"queued": n, "failed": n}`: messages waiting (in
        flight included), and messages given up on. Queues never used may be
        absent.
        """

    # Optionally, `catalog_counts(catalog)`: the same, counting only the
    # messages of one catalog. Queues that cannot tell (SQS) lack it, and
    # then a catalog's progress is that of all catalogs.


@attrs.frozen
class Scope:
    """What one health request asks about: a catalog, or None for all of them."""
    catalog: Catalog | None = None


def _counts(runtime: Runtime, scope: Scope) -> Mapping[str, Mapping[str, int]]:
    stats: QueueStats | None = getattr(runtime, 'queue_stats', None)
    if stats is None:
        return {}
    by_catalog = getattr(stats, 'catalog_counts', None)
    if scope.catalog is not None and by_catalog is not None:
        return by_catalog(scope.catalog.name)
    return stats.counts()


def check_elasticsearch(runtime: Runtime, scope: Scope) -> Check:
    try:
        return {**runtime.backend.health(), 'up': True}
    except Exception as e:
        return {'up': False, 'message': _message(e)}


def check_queues(runtime: Runtime, scope: Scope) -> Check:
    # Queue depths are a property of the deployment, not of a catalog
    try:
        counts = _counts(runtime, Scope())
    except Exception as e:
        return {'up': False, 'message': _message(e)}
    result: Check = {'up': True}
    for name in sorted({NOTIFICATIONS, TALLIES, *counts}):
        queue = counts.get(name, {})
        result[name] = {'up': True, 'queued': queue.get('queued', 0),
                        'failed': queue.get('failed', 0)}
    return result


def check_progress(runtime: Runtime, scope: Scope) -> Check:
    """Unindexed work: of the requested catalog where the queue can tell."""
    try:
        counts = _counts(runtime, scope)
    except Exception as e:
        return {'up': False, 'message': _message(e)}
    return {'up': True,
            'unindexed_bundles': counts.get(NOTIFICATIONS, {}).get('queued', 0),
            'unindexed_documents': counts.get(TALLIES, {}).get('queued', 0)}


def check_api_endpoints(runtime: Runtime, scope: Scope) -> Check:
    """Search each entity type of the catalog (the default one) for one hit, in-process."""
    from azul.service.index import search
    catalog = scope.catalog or runtime.config.default_catalog
    result: Check = {'up': True}
    try:
        entity_types = runtime.metadata_plugin(catalog).exposed_entity_types
    except Exception as e:
        return {'up': False, 'message': _message(e)}
    for entity_type in entity_types:
        path = f'/index/{entity_type}'
        request = Request('GET', path, {'catalog': (catalog.name,), 'size': ('1',)})
        try:
            search(runtime, request, entity_type)
            result[f'{path}?size=1'] = {'up': True}
        except Exception as e:
            result[f'{path}?size=1'] = {'up': False, 'message': _message(e)}
            result['up'] = False
    return result


def _message(error: Exception) -> str:
    return getattr(error, 'message', None) or f'{type(error).__name__}: {error}'


CHECKS: Mapping[str, Callable[[Runtime, Scope], Check]] = {
    'api_endpoints': check_api_endpoints,
    'elasticsearch': check_elasticsearch,
    'progress': check_progress,
    'queues': check_queues,
}
ALL_KEYS = tuple(CHECKS)
FAST_KEYS = ('elasticsearch', 'api_endpoints')
INDEXER_FAST_KEYS = ('elasticsearch', 'queues', 'progress')
# How long /health/cached serves one /health/fast result
CACHE_SECONDS = 60
# The only parameter the health routes read; like the original, they ignore
# any other, so that no client is ever failed over a parameter
HEALTH_PARAMS = ('catalog',)


def run_checks(runtime: Runtime, keys: Sequence[str], scope: Scope = Scope()) -> Response:
    # The original lists the checks in the order of their names
    body: dict[str, Any] = {key: _masked(CHECKS[key](runtime, scope)) for key in sorted(keys)}
    body['up'] = all(check['up'] for check in body.values())
    # The original serializes health bodies itself, with json.dumps' defaults
    return json_response(body, status=200 if body['up'] else 503, spaced=True)


def _masked(value: Any) -> Any:
    """
    A check's result with the credentials of any URL in it masked: the health
    routes are public, and a backend reports its endpoint (which may be
    `https://user:password@...`), also in its error messages.
    """
    if isinstance(value, str):
        return mask_credentials(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def parse_keys(text: str) -> tuple[str, ...] | None:
    """The distinct keys of a comma-separated list, or None if one is unknown."""
    keys = tuple(k.strip() for k in text.split(','))
    if not all(k in CHECKS for k in keys):
        return None
    return tuple(dict.fromkeys(keys))


def invalid_keys() -> Response:
    # The original's answer, a body without `up` and without `Code`
    return json_response({'Message': 'Invalid health keys'}, status=400, spaced=True)


def scope(runtime: Runtime, request: Request) -> Scope:
    """
    The catalog a health request names. A catalog that is not configured (or
    a malformed name) is ignored rather than refused, as the original ignores
    the parameter: a portal polling /health/progress must never see an error.
    """
    name = parameters(request, HEALTH_PARAMS, ignore_unknown=True).get('catalog')
    if not isinstance(name, str):
        return Scope()
    for catalog in runtime.config.catalogs:
        if catalog.name == name:
            return Scope(catalog)
    return Scope()


class HealthService:
    """
    The health endpoints of one app; it holds the /health/cached copy. The
    fast checks differ per app, as in the original: the service's are the
    backend and its own endpoints, the indexer's the backend and the queues.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 fast_keys: Sequence[str] = FAST_KEYS):
        self._clock = clock
        self._fast_keys = tuple(fast_keys)
        self._lock = threading.Lock()
        self._cached: tuple[float, Response] | None = None

    def complete(self, runtime: Runtime, request: Request) -> Response:
        return run_checks(runtime, ALL_KEYS, scope(runtime, request))

    def basic(self, request: Request) -> Response:
        parameters(request, HEALTH_PARAMS, ignore_unknown=True)
        return json_response({'up': True}, spaced=True)

    def fast(self, runtime: Runtime, request: Request) -> Response:
        return run_checks(runtime, self._fast_keys, scope(runtime, request))

    def cached(self, runtime: Runtime, request: Request) -> Response:
        name = parameters(request, HEALTH_PARAMS, ignore_unknown=True).get('catalog')
        default = runtime.config.default_catalog.name
        if name is not None and name != default:
            # As the original: the cache holds the default catalog's health only
            raise NotFoundError('Health is only cached for default catalog', name, default)
        with self._lock:
            now = self._clock()
            if self._cached is None or now - self._cached[0] >= CACHE_SECONDS:
                self._cached = (now, run_checks(runtime, self._fast_keys))
            return self._cached[1]

    def selected(self, runtime: Runtime, request: Request, keys: str) -> Response:
        parsed = parse_keys(keys)
        if parsed is None:
            return invalid_keys()
        return run_checks(runtime, parsed, scope(runtime, request))
