"""
The indexer app: receives bundle notifications and, on AWS, drains the SQS
queues. Routes only parse the request and call `azul.indexer`; the work lives
there. The runtime is built on first use, never at import.
"""
import json
import logging
import os

from chalice import Chalice, CORSConfig, Response

from azul.errors import BadRequestError
from azul.indexer.signature import verify
from azul.indexer.worker import NOTIFICATIONS, TALLIES, Worker, parse_notification
from azul.runtime import Runtime
from azul.service.health import run_checks
from azul.service.responses import Response as RResponse
from azul.service.responses import json_response, respond
from azul.service.version import git_info

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


def _chalice(response: RResponse) -> Response:
    headers = {'Access-Control-Allow-Origin': '*', **response.headers}
    return Response(status_code=response.status, body=response.body, headers=headers)


def _json_body():
    raw = app.current_request.raw_body
    try:
        return json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadRequestError(f'The request body is not valid JSON: {e}') from None


def _notify(catalog: str, action: str) -> RResponse:
    request = app.current_request
    # The path as the client sent it, without the API Gateway stage prefix
    verify(runtime().config.indexer_hmac_key, request.method, f'/{catalog}/{action}',
           request.raw_body or b'', request.headers.get('signature'))
    message = parse_notification(runtime(), catalog, action, _json_body())
    runtime().queue.send(NOTIFICATIONS, [message])
    return json_response({'queued': message}, status=202)


@app.route('/{catalog}/{action}', methods=['POST'], cors=cors)
def notify(catalog: str, action: str):
    return _chalice(respond(_notify, catalog, action))


@app.route('/health', cors=cors)
def health():
    return _chalice(respond(run_checks, runtime(), ('elasticsearch', 'queues', 'progress')))


@app.route('/version', cors=cors)
def version():
    return _chalice(json_response({'git': git_info(os.environ), 'changes': []}))


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
