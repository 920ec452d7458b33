"""
GET /health, /health/basic, /health/fast, /health/cached and /health/{keys}.

Each key is one check returning `{"up": bool, ...details}`; a response is 200
if every check it ran is up, else 503. The key `elasticsearch` names the index
backend whatever its kind, because monitors written against Azul look for it.

Queue statistics come from the indexer's queue, which the runtime exposes as
`runtime.queue_stats` (anything with `counts()`, see `QueueStats`): the
`notifications` queue holds unindexed bundles, the `tallies` queue documents
still to be aggregated. Without one (None), the queues are reported up and empty.
"""
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from azul.errors import BadRequestError
from azul.runtime import Runtime
from azul.service.request import Request, parameters
from azul.service.responses import Response, json_response

Check = dict[str, Any]


NOTIFICATIONS = 'notifications'
TALLIES = 'tallies'


class QueueStats(Protocol):
    def counts(self) -> Mapping[str, Mapping[str, int]]:
        """
        Per queue name, `{"queued": n, "failed": n}`: messages waiting (in
        flight included), and messages given up on. Queues never used may be
        absent.
        """


def _counts(runtime: Runtime) -> Mapping[str, Mapping[str, int]]:
    stats: QueueStats | None = getattr(runtime, 'queue_stats', None)
    return {} if stats is None else stats.counts()


def check_elasticsearch(runtime: Runtime) -> Check:
    try:
        return {**runtime.backend.health(), 'up': True}
    except Exception as e:
        return {'up': False, 'message': _message(e)}


def check_queues(runtime: Runtime) -> Check:
    try:
        counts = _counts(runtime)
    except Exception as e:
        return {'up': False, 'message': _message(e)}
    result: Check = {'up': True}
    for name in sorted({NOTIFICATIONS, TALLIES, *counts}):
        queue = counts.get(name, {})
        result[name] = {'up': True, 'queued': queue.get('queued', 0),
                        'failed': queue.get('failed', 0)}
    return result


def check_progress(runtime: Runtime) -> Check:
    try:
        counts = _counts(runtime)
    except Exception as e:
        return {'up': False, 'message': _message(e)}
    return {'up': True,
            'unindexed_bundles': counts.get(NOTIFICATIONS, {}).get('queued', 0),
            'unindexed_documents': counts.get(TALLIES, {}).get('queued', 0)}


def check_api_endpoints(runtime: Runtime) -> Check:
    """Search each entity type of the default catalog for one hit, in-process."""
    from azul.service.index import search
    catalog = runtime.config.default_catalog
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


CHECKS: Mapping[str, Callable[[Runtime], Check]] = {
    'api_endpoints': check_api_endpoints,
    'elasticsearch': check_elasticsearch,
    'progress': check_progress,
    'queues': check_queues,
}
ALL_KEYS = tuple(CHECKS)
FAST_KEYS = ('elasticsearch', 'api_endpoints')
# How long /health/cached serves one /health/fast result
CACHE_SECONDS = 60


def run_checks(runtime: Runtime, keys: Sequence[str]) -> Response:
    body: dict[str, Any] = {key: CHECKS[key](runtime) for key in keys}
    body['up'] = all(check['up'] for check in body.values())
    return json_response(body, status=200 if body['up'] else 503)


def parse_keys(text: str) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in text.split(','))
    unknown = [k for k in keys if k not in CHECKS]
    if unknown:
        raise BadRequestError(f'Unknown health check key(s) {", ".join(map(repr, unknown))}; '
                              f'the keys are: {", ".join(ALL_KEYS)}')
    return tuple(dict.fromkeys(keys))


class HealthService:
    """The health endpoints of one app; it holds the /health/cached copy."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, Response] | None = None

    def complete(self, runtime: Runtime, request: Request) -> Response:
        parameters(request, ())
        return run_checks(runtime, ALL_KEYS)

    def basic(self, request: Request) -> Response:
        parameters(request, ())
        return json_response({'up': True})

    def fast(self, runtime: Runtime, request: Request) -> Response:
        parameters(request, ())
        return run_checks(runtime, FAST_KEYS)

    def cached(self, runtime: Runtime, request: Request) -> Response:
        parameters(request, ())
        with self._lock:
            now = self._clock()
            if self._cached is None or now - self._cached[0] >= CACHE_SECONDS:
                self._cached = (now, run_checks(runtime, FAST_KEYS))
            return self._cached[1]

    def selected(self, runtime: Runtime, request: Request, keys: str) -> Response:
        parameters(request, ())
        return run_checks(runtime, parse_keys(keys))
