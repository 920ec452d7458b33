"""
The indexer app: receives bundle notifications and, on AWS, drains the SQS
queues. Routes only parse the request and call `azul.indexer`; the work lives
there. The runtime is built on first use, never at import.
"""
import json
import logging
import os

from chalice import Chalice, CORSConfig, Response

from azul.errors import AzulError, BadRequestError
from azul.indexer.worker import NOTIFICATIONS, TALLIES, Worker, parse_notification
from azul.runtime import Runtime

log = logging.getLogger('azul.indexer.app')

app = Chalice(app_name='azul-indexer')
cors = CORSConfig(allow_origin='*', allow_headers=['Authorization', 'Content-Type'])

_runtime: Runtime | None = None


def set_runtime(runtime: Runtime | None) -> None:
    """Inject the runtime (the local server, tests); None: build from the environment."""
    global _runtime
    _runtime = runtime


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime.from_env()
    return _runtime


def _error(e: AzulError) -> Response:
    return Response(status_code=e.status, body=e.to_json(),
                    headers={'Access-Control-Allow-Origin': '*'})


def _json_body():
    raw = app.current_request.raw_body
    try:
        return json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadRequestError(f'The request body is not valid JSON: {e}') from None


@app.route('/{catalog}/{action}', methods=['POST'], cors=cors)
def notify(catalog: str, action: str):
    try:
        message = parse_notification(runtime(), catalog, action, _json_body())
        runtime().queue.send(NOTIFICATIONS, [message])
    except AzulError as e:
        return _error(e)
    return Response(status_code=202, body={'queued': message},
                    headers={'Access-Control-Allow-Origin': '*'})


@app.route('/health', cors=cors)
def health():
    from azul.service.health import indexer_health
    try:
        body, status = indexer_health(runtime())
    except AzulError as e:
        return _error(e)
    return Response(status_code=status, body=body)


@app.route('/version', cors=cors)
def version():
    from azul.service.version import version_info
    return version_info()


# On AWS the queues trigger these; locally the server's worker thread does the
# same work through `Worker.process_once`.
# Queue names are fixed when Chalice packages the app, hence read from the
# environment of the packaging process (see azul.indexer.sqs for the naming).
_deployment = os.environ.get('AZUL_DEPLOYMENT', 'local')


@app.on_sqs_message(queue=f'azul-{NOTIFICATIONS}-{_deployment}', batch_size=1)
def contribute(event):
    worker = Worker(runtime(), runtime().queue)
    for record in event:
        worker.contribute(json.loads(record.body))


@app.on_sqs_message(queue=f'azul-{TALLIES}-{_deployment}', batch_size=10)
def aggregate(event):
    worker = Worker(runtime(), runtime().queue)
    worker.aggregate([json.loads(record.body) for record in event])


__all__ = ['app', 'set_runtime', 'NOTIFICATIONS', 'TALLIES']
