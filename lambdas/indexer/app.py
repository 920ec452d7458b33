"""
The indexer app: receives bundle notifications and, on AWS, drains the SQS
queues. Routes only parse the request and call `azul.indexer`; the work lives
there. The runtime is built on first use, never at import.
"""
import json
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

from chalice import Chalice, Response
from chalice.app import SQSEvent, SQSRecord

from azul.adapters.runtime_holder import RuntimeHolder
from azul.errors import AzulError, ForbiddenError, ServiceUnavailableError
from azul.indexer.access import check_unsigned
from azul.indexer.queue import NOTIFICATIONS, TALLIES, Message
from azul.indexer.signature import SIGNATURE, TIMESTAMP, verify
from azul.indexer.sqs import queue_name
from azul.indexer.worker import Worker, parse_notification, retry_delay
from azul.service.catalogs import validate_catalog
from azul.service.health import INDEXER_FAST_KEYS, HealthService
from azul.service.request import Request, json_body
from azul.service.responses import Response as RResponse
from azul.service.responses import json_response, respond
from azul.service.version import git_info

log = logging.getLogger('azul.indexer.app')

_holder = RuntimeHolder()
# Inject the runtime (the local server, tests); None: build from the environment
set_runtime = _holder.set
runtime = _holder.get
_lock = threading.Lock()


def _chalice(response: RResponse) -> Response:
    # No Access-Control-Allow-Origin: the indexer is no CORS resource, so no
    # page of another origin reads its answers or sends it anything but the
    # simple requests that `check_unsigned` refuses
    return Response(status_code=response.status, body=response.body,
                    headers=dict(response.headers))


def _json_body(raw: bytes | None):
    # Strict JSON within the limits of size and depth, else a 400 (a body
    # nested too deeply, or a number of thousands of digits, failed with a 500)
    return json_body(raw, runtime().config.limits) if raw else None


def create_app(loopback: bool = False) -> Chalice:
    """
    The app with its routes. The local server makes one per concurrent
    request: Chalice keeps the current request on the app object.

    `loopback`: whether the app is served on a loopback address only, where
    it may accept unsigned notifications (see `azul.indexer.access`); never on
    Lambda.
    """
    app = Chalice(app_name='azul-indexer')

    def _notify(catalog: str, action: str) -> RResponse:
        request = app.current_request
        headers = {k.lower(): v for k, v in request.headers.items()}
        key = runtime().config.indexer_hmac_key
        if key is None:
            check_unsigned(loopback, headers)
        else:
            # The path as the client sent it, without the API Gateway stage prefix
            verify(key, request.method, f'/{catalog}/{action}', request.raw_body or b'',
                   headers.get(SIGNATURE), headers.get(TIMESTAMP))
        # A malformed catalog name is a 400 as in the original, one that is not
        # configured a 404 as on the service's routes
        validate_catalog(runtime(), catalog)
        message = parse_notification(runtime(), catalog, action, _json_body(request.raw_body))
        runtime().queue.send(NOTIFICATIONS, [message])
        return json_response({'queued': message}, status=202)

    # Any content type reaches the route, so that `check_unsigned` decides and
    # says why: Chalice's own check would accept `text/plain; application/json`,
    # which browsers send cross-origin without a pre-flight
    @app.route('/{catalog}/{action}', methods=['POST'], content_types=['*/*'])
    def notify(catalog: str, action: str):
        return _chalice(respond(_notify, catalog, action))

    def _preflight(catalog: str, action: str) -> RResponse:
        raise ForbiddenError(f'Cross-origin requests to the indexer are not allowed '
                             f'(CORS pre-flight of /{catalog}/{action} refused)')

    # A pre-flight answered without CORS headers: the browser then never sends
    # the actual request
    @app.route('/{catalog}/{action}', methods=['OPTIONS'])
    def preflight(catalog: str, action: str):
        return _chalice(respond(_preflight, catalog, action))

    health = HealthService(fast_keys=INDEXER_FAST_KEYS)

    def _request() -> Request:
        r = app.current_request
        query = {k: tuple(r.query_params.getlist(k)) for k in r.query_params or {}}
        return Request(method=r.method, path=r.context.get('path') or r.path, query=query)

    # The health routes of the original's indexer, like the service's: only
    # `catalog` is read, any other parameter ignored
    @app.route('/health')
    def health_complete():
        return _chalice(respond(health.complete, runtime(), _request()))

    @app.route('/health/basic')
    def health_basic():
        return _chalice(respond(health.basic, _request()))

    @app.route('/health/fast')
    def health_fast():
        return _chalice(respond(health.fast, runtime(), _request()))

    @app.route('/health/cached')
    def health_cached():
        return _chalice(respond(health.cached, runtime(), _request()))

    @app.route('/health/{keys}')
    def health_selected(keys):
        return _chalice(respond(health.selected, runtime(), _request(), unquote(keys)))

    @app.route('/version')
    def version():
        return _chalice(json_response({'git': git_info(os.environ), 'changes': []}))

    return app


app = create_app()


# Queue names are fixed when Chalice packages the app, hence read from the
# environment of the packaging process.
_deployment = os.environ.get('AZUL_DEPLOYMENT', 'local')


_worker: Worker | None = None


def worker() -> Worker:
    # One per Lambda container: it remembers which indices exist. A runtime
    # injected later (tests) gets a worker of its own.
    global _worker
    with _lock:
        if _worker is None or _worker.runtime is not runtime():
            _worker = Worker(runtime(), runtime().queue)
        return _worker


def reported(groups: Sequence[str | None], failed: Sequence[bool]) -> list[int]:
    """
    The positions of the records of a batch to report as failed. In a FIFO
    batch a failed record also fails the later records of its message group:
    were they deleted, they would overtake it. Those of other groups are
    independent and are acknowledged: were they reported too, a bad message at
    the head of every batch would drag good messages of other groups into the
    fail queue with it.
    """
    result = []
    blocked: set[str] = set()
    for i, (group, fail) in enumerate(zip(groups, failed, strict=True)):
        if fail or (group is not None and group in blocked):
            result.append(i)
            if group is not None:
                blocked.add(group)
    return result


def _batch_response(queue: str, records: Sequence[SQSRecord],
                    errors: Sequence[Exception | None]) -> dict[str, Any]:
    """
    The partial-batch response (`ReportBatchItemFailures`, set on the event
    source mappings): Lambda deletes the records it does not name, so that a
    good message is neither redelivered nor sent to the fail queue because
    another of its batch failed, as it was when a failure failed the whole
    invocation.
    """
    records = [record.to_dict() for record in records]
    failures = []
    for i in reported([r['attributes'].get('MessageGroupId') for r in records],
                      [error is not None for error in errors]):
        record, error = records[i], errors[i]
        attempts = int(record['attributes']['ApproximateReceiveCount'])
        if error is not None:
            log.warning('Message %s of %s failed (attempt %d)', record['messageId'], queue,
                        attempts, exc_info=error)
        failures.append({'itemIdentifier': record['messageId']})
        # Lambda would leave a failed message invisible for the queue's whole
        # visibility timeout; the worker's back-off is shorter, and shorter
        # still for a message refused for cause, on Lambda as on a local server
        transient = error is None or not isinstance(error, AzulError) \
            or isinstance(error, ServiceUnavailableError)
        try:
            runtime().queue.release(Message(record['receiptHandle'], queue, {}, attempts),
                                    retry_delay(attempts, transient))
        except Exception:
            # Then it is redelivered after the visibility timeout
            log.exception('Could not shorten the visibility of message %s', record['messageId'])
    return {'batchItemFailures': failures}


def _parse(records: Sequence[SQSRecord]) -> tuple[list[tuple[int, Any]],
                                                  list[Exception | None]]:
    # A body that is no JSON fails alone, not its batch
    bodies, errors = [], [None] * len(records)
    for i, record in enumerate(records):
        try:
            bodies.append((i, json.loads(record.body)))
        except ValueError as e:
            errors[i] = e
    return bodies, errors


# Chalice returns the handler's value to Lambda unchanged (its
# EventSourceHandler calls the function and returns the result), so the
# partial-batch response needs no wrapping.

@app.on_sqs_message(queue=queue_name(NOTIFICATIONS, _deployment), batch_size=10)
def contribute(event: SQSEvent) -> dict[str, Any]:
    records = list(event)
    bodies, errors = _parse(records)
    # One write for the contributions of the whole batch
    for (i, _), error in zip(bodies, worker().contribute_each([b for _, b in bodies]),
                             strict=True):
        errors[i] = error
    return _batch_response(NOTIFICATIONS, records, errors)


@app.on_sqs_message(queue=queue_name(TALLIES, _deployment), batch_size=10)
def aggregate(event: SQSEvent) -> dict[str, Any]:
    records = list(event)
    bodies, errors = _parse(records)
    results = worker().aggregate_each([b for _, b in bodies])
    for (i, _), ok in zip(bodies, results, strict=True):
        if not ok:
            errors[i] = RuntimeError('Aggregating the tally failed (logged above)')
    return _batch_response(TALLIES, records, errors)


__all__ = ['app', 'set_runtime', 'NOTIFICATIONS', 'TALLIES']
