"""
The local server: one process serving both Chalice apps on one port, plus a
worker thread that drains the durable local queue.

Requests go through Chalice's own LocalGateway, so the local server runs the
very route code that runs on Lambda. Dispatch: `POST /{catalog}/{add|delete}`
for a configured catalog goes to the indexer app (which answers an unknown
action with a 400 naming it), everything else to the service app. The two
never collide because catalog names may not be the first segment of a service
route (see `azul.config.reserved_catalog_names`).
"""
import contextlib
import importlib.util
import logging
import queue
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

from chalice import Chalice
from chalice.config import Config as ChaliceConfig
from chalice.local import LocalGateway, LocalGatewayException

from azul import envfiles
from azul.config import Config
from azul.indexer.worker import Worker
from azul.runtime import Runtime
from azul.service.responses import compact, error_body

log = logging.getLogger(__name__)

_notification_path = re.compile(r'^/([a-z][a-z0-9]{1,63})/([^/?]+)/?(\?.*)?$')


def load_app(name: str) -> ModuleType:
    """Import `lambdas/<name>/app.py`, which is not part of a package."""
    module_name = f'azul_lambda_{name}'
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = Path(envfiles.project_root()) / 'lambdas' / name / 'app.py'
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


class LocalServer:

    def __init__(self, runtime: Runtime, host: str, port: int, worker: bool = True):
        self.runtime = runtime
        self.service = load_app('service')
        self.indexer = load_app('indexer')
        for app_module in (self.service, self.indexer):
            app_module.set_runtime(runtime)
        self.gateways = {
            'service': _GatewayPool(lambda: self.service.create_app(self.service.get_runtime)),
            'indexer': _GatewayPool(self.indexer.create_app),
        }
        catalogs = {c.name for c in runtime.config.catalogs}
        handler = _handler_class(self.gateways, catalogs)
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.stop_event = threading.Event()
        self.worker = Worker(runtime, runtime.queue) if worker else None
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f'http://{host}:{port}'

    def start(self) -> None:
        # Idempotent: an empty catalog answers with no hits rather than an error
        from azul.indexer.index import Indexer
        indexer = Indexer(self.runtime)
        for catalog in self.runtime.config.catalogs:
            indexer.create_indices(catalog.name)
        if self.worker is not None:
            recovered = self.runtime.queue.recover()
            if recovered:
                log.info('Resuming %d message(s) left in flight by a previous run', recovered)
            self._threads.append(threading.Thread(target=self.worker.run,
                                                  args=(self.stop_event,),
                                                  name='indexer-worker', daemon=True))
        self._threads.append(threading.Thread(target=self.httpd.serve_forever,
                                              name='http', daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=30)


class _GatewayPool:
    """
    Chalice keeps the request being handled on the app object, so one app
    must not serve two requests at once: each concurrent request borrows an
    app (and its gateway) of its own.
    """

    def __init__(self, factory: Callable[[], Chalice]):
        self.factory = factory
        self.free: queue.SimpleQueue[LocalGateway] = queue.SimpleQueue()
        self.config = ChaliceConfig(chalice_stage='local', config_from_disk={})

    @contextlib.contextmanager
    def borrow(self) -> Iterator[LocalGateway]:
        try:
            gateway = self.free.get_nowait()
        except queue.Empty:
            gateway = LocalGateway(self.factory(), self.config)
        try:
            yield gateway
        finally:
            self.free.put(gateway)


# Largest request body the local server reads; the service's own limit is lower
MAX_BODY = 10 * 1024 * 1024


def _handler_class(gateways: dict[str, _GatewayPool], catalogs: set[str]):

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def _handle(self) -> None:
            body, error = self._read_body()
            if error is not None:
                self.close_connection = True
                # Framing errors never reach an app; the body is an app's error body
                self._send(error[0], {}, compact(error_body('BadRequestError', error[1])))
                return
            match = _notification_path.match(self.path)
            is_notification = (self.command in ('POST', 'OPTIONS') and match is not None
                               and match.group(1) in catalogs)
            try:
                with gateways['indexer' if is_notification else 'service'].borrow() as gateway:
                    response = gateway.handle_request(method=self.command, path=self.path,
                                                      headers=dict(self.headers), body=body)
            except LocalGatewayException as e:
                self._send(e.CODE, dict(e.headers), e.body)
                return
            headers = dict(response['headers'])
            for name, values in response.get('multiValueHeaders', {}).items():
                headers[name] = values
            payload = response['body']
            if response.get('isBase64Encoded'):
                import base64
                payload = base64.b64decode(payload)
            self._send(response['statusCode'], headers, payload)

        def _read_body(self) -> tuple[bytes | None, tuple[int, str] | None]:
            if 'chunked' in self.headers.get('transfer-encoding', '').lower():
                return None, (411, 'Chunked request bodies are not supported; '
                                   'send a Content-Length')
            length = self.headers.get('content-length')
            if length is None:
                return None, None
            if not length.isdigit():
                return None, (400, f'Invalid Content-Length {length!r}')
            if int(length) > MAX_BODY:
                return None, (413, f'Request body larger than {MAX_BODY} bytes')
            return (self.rfile.read(int(length)) if int(length) else None), None

        def _send(self, status: int, headers: dict, body) -> None:
            if body is None:
                body = b''
            elif isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            headers.setdefault('Content-Type', 'application/json')
            for name, value in headers.items():
                if name.lower() == 'content-length':
                    continue
                for v in value if isinstance(value, list) else [value]:
                    self.send_header(name, v)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            if self.command != 'HEAD':
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = do_PATCH = _handle

        def log_message(self, format, *args):
            log.info('%s %s', self.address_string(), format % args)

    return Handler


def serve(config: Config, host: str | None = None, port: int | None = None) -> int:
    runtime = Runtime(config)
    server = LocalServer(runtime, host or config.host, port or config.port)
    server.start()
    print(f'Azul is serving catalog(s) {", ".join(c.name for c in config.catalogs)} '
          f'from the {config.index_backend} backend at {server.url}/ (Ctrl-C stops)')
    wait_for_signal()
    server.stop()
    runtime.close()
    return 0


def wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1):
        pass
