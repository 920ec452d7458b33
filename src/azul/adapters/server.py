"""
The local server: one process serving both Chalice apps on one port, plus a
worker thread that drains the durable local queue.

Requests go through Chalice's own LocalGateway, so the local server runs the
very route code that runs on Lambda. Dispatch: `POST` and `OPTIONS` of
`/{catalog}/{action}` go to the indexer app (which answers a catalog that is not
configured with a 404 and an unknown action with a 400, naming them),
everything else to the service app. The two
never collide because catalog names may not be the first segment of a service
route (see `azul.config.reserved_catalog_names`).

Unlike API Gateway, the server answers a path no route matches with a 404
naming the path, a method the route lacks with a 405 (and an `Allow` header),
and HEAD on a GET route like GET without the body. Every error it answers
itself is JSON in the apps' `{"Code", "Message"}` shape, never HTML.

Hardening for a server that is reachable from a browser or a network: the
`Host` header must name one of `AZUL_ALLOWED_HOSTS` (else 400), because links
in responses are built from it when `AZUL_SERVICE_URL` is unset, and because a
DNS-rebinding page would send its own name; a client that stalls for
`AZUL_READ_TIMEOUT` seconds is disconnected; at most `AZUL_MAX_CONNECTIONS`
connections are served at once (a thread each), more are answered 503.
"""
import contextlib
import http
import importlib.util
import logging
import queue
import re
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import attrs
from chalice import Chalice
from chalice.config import Config as ChaliceConfig
from chalice.local import LocalGateway, LocalGatewayException, RouteMatcher

from azul import collector, envfiles
from azul.adapters.blobs import is_blob_path, serve_blob
from azul.config import Config, reserved_catalog_names
from azul.indexer.live_pool import LivePool
from azul.indexer.worker import Worker
from azul.masking import install_log_masking
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

    def __init__(self, runtime: Runtime, host: str, port: int, worker: bool = True,
                 read_timeout: float | None = None, max_connections: int | None = None):
        install_log_masking()
        self.runtime = runtime
        config = runtime.config
        self.service = load_app('service')
        self.indexer = load_app('indexer')
        for app_module in (self.service, self.indexer):
            app_module.set_runtime(runtime)
        self.gateways = {
            'service': _GatewayPool(lambda: self.service.create_app(self.service.get_runtime)),
            # Unsigned notifications only on loopback (see azul.indexer.access)
            'indexer': _GatewayPool(lambda: self.indexer.create_app(loopback=self.loopback)),
        }
        handler = _handler_class(self.gateways, runtime)
        handler.timeout = read_timeout or config.read_timeout or READ_TIMEOUT
        handler.allowed_hosts = allowed_hosts(config, host)
        self.httpd = _Server((host, port), handler,
                             max_connections or config.max_connections or MAX_CONNECTIONS)
        self.stop_event = threading.Event()
        self.worker = Worker(runtime, runtime.queue, worker_pool(config)) if worker else None
        self._threads: list[threading.Thread] = []
        self._frozen = False

    @property
    def loopback(self) -> bool:
        from azul.indexer.access import is_loopback_address
        return is_loopback_address(self.httpd.server_address[0])

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f'http://{host}:{port}'

    def start(self, freeze: bool = False) -> None:
        """
        Serve, in threads of its own. With `freeze`, for a process that
        serves until it ends (`serve`, the demo), what it holds once ready
        is left out of the collector's passes (`collector.freeze_held`)
        until `stop`.
        """
        # Idempotent: an empty catalog answers with no hits rather than an error
        from azul.indexer.index import Indexer
        indexer = Indexer(self.runtime)
        for catalog in self.runtime.config.catalogs:
            indexer.create_indices(catalog.name)
        if self.worker is not None:
            recovered = self.runtime.queue.recover()
            if recovered:
                log.info('Resuming %d message(s) left in flight by a previous run', recovered)
            if self.worker.pool is not None:
                # Its processes import while the server starts, not in the first round
                self.worker.pool.start()
            self._threads.append(threading.Thread(target=self.worker.run,
                                                  args=(self.stop_event,),
                                                  name='indexer-worker', daemon=True))
        self._threads.append(threading.Thread(target=self.httpd.serve_forever,
                                              name='http', daemon=True))
        if freeze:
            collector.freeze_held()
            self._frozen = True
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        # `shutdown` waits for `serve_forever` to return: forever, had it never run
        if any(t.name == 'http' and t.ident is not None for t in self._threads):
            self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=30)
        if self.worker is not None:
            self.worker.close()
        if self._frozen:
            self._frozen = False
            collector.release_held()


def worker_pool(config: Config) -> LivePool | None:
    """
    The worker's processes (AZUL_INDEXER_PROCESSES), if more than one. Unset
    means one: measured on a loaded machine, handing contributions and
    aggregates to other processes cost more CPU than it took off the worker.
    """
    processes = config.indexer_processes or 1
    return LivePool(config, processes) if processes >= 2 else None


@attrs.frozen
class _RouteTable:
    routes: Mapping[str, frozenset[str]]
    matcher: RouteMatcher


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
        # The routes of the apps and their matcher, known once an app was made.
        # One attribute assigned in one statement: a request made concurrently
        # with the first app's must never see the routes without the matcher.
        self._table: _RouteTable | None = None

    @property
    def routes(self) -> Mapping[str, frozenset[str]]:
        return self._table.routes

    @property
    def matcher(self) -> RouteMatcher:
        return self._table.matcher

    @contextlib.contextmanager
    def borrow(self) -> Iterator[LocalGateway]:
        try:
            gateway = self.free.get_nowait()
        except queue.Empty:
            app = self.factory()
            if self._table is None:
                routes = {path: frozenset(methods) for path, methods in app.routes.items()}
                self._table = _RouteTable(routes, RouteMatcher(list(routes)))
            gateway = LocalGateway(app, self.config)
        try:
            yield gateway
        finally:
            self.free.put(gateway)


# Largest request body the local server reads; the service's own limit is lower
MAX_BODY = 10 * 1024 * 1024
# Defaults of AZUL_READ_TIMEOUT and AZUL_MAX_CONNECTIONS
READ_TIMEOUT = 30
MAX_CONNECTIONS = 128
# The names of the loopback interface, always allowed in the Host header
LOOPBACK_NAMES = ('localhost', '127.0.0.1', '::1')
# What a Host header may be: a name or IPv4 address, or a bracketed IPv6
# address, and an optional port; anything else (userinfo, a path) is a 400
_host_header = re.compile(r'(?P<name>[a-z0-9._-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?',
                          re.IGNORECASE)


def allowed_hosts(config: Config, bind_host: str) -> frozenset[str] | None:
    """The host names the server answers to (None: any), per AZUL_ALLOWED_HOSTS."""
    if config.allowed_hosts is not None:
        if '*' in config.allowed_hosts:
            return None
        return frozenset(name.strip('[]') for name in config.allowed_hosts)
    names = set(LOOPBACK_NAMES)
    for host in (config.host, bind_host):
        # A wildcard address is no name a client could use
        if host not in ('', '0.0.0.0', '::'):
            names.add(host.lower().strip('[]'))
    if config.service_url:
        names.add(urlsplit(config.service_url).hostname)
    return frozenset(names)


def host_name(header: str) -> str | None:
    """The host name of a `Host` header in lower case, or None if malformed."""
    match = _host_header.fullmatch(header.strip())
    if match is None:
        return None
    return match['name'].lower().strip('[]').rstrip('.')


class _Server(ThreadingHTTPServer):
    """
    A thread per connection, at most `max_connections` of them: a connection
    beyond them is answered 503 at once and closed, so that slow clients can
    exhaust neither the machine's threads nor, up to the read timeout, the
    server's slots.
    """
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, handler, max_connections: int):
        self.slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            _refuse(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def _refuse(connection: socket.socket) -> None:
    body = compact(error_body('ServiceUnavailableError',
                              'Too many connections; try again later')).encode()
    head = ('HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n'
            f'Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n')
    try:
        # In the accepting thread: never wait long for a client that does not read
        connection.settimeout(1)
        connection.sendall(head.encode() + body)
    except OSError:
        pass


def _error_code(status: int) -> str:
    """The `Code` of an error the server answers itself, e.g. `RequestURITooLongError`."""
    known = {400: 'BadRequestError', 404: 'NotFoundError', 405: 'MethodNotAllowedError'}
    if status in known:
        return known[status]
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        return 'Error'
    return ''.join(word[:1].upper() + word[1:] for word in re.split(r'[\s-]+', phrase)) \
        + 'Error'


def _handler_class(gateways: dict[str, _GatewayPool], runtime: Runtime):

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        # So that the answer to a malformed request line has a status line
        default_request_version = 'HTTP/1.0'
        # Seconds any read or write of the connection may stall (AZUL_READ_TIMEOUT)
        timeout: float = READ_TIMEOUT
        # Host names the server answers to, None: any (AZUL_ALLOWED_HOSTS)
        allowed_hosts: frozenset[str] | None = frozenset(LOOPBACK_NAMES)

        def _handle(self) -> None:
            match = _notification_path.match(self.path)
            # Any catalog but the service's first path segments, so that the
            # indexer names a catalog that is not configured (404)
            is_notification = (self.command in ('POST', 'OPTIONS') and match is not None
                               and match.group(1) not in reserved_catalog_names)
            # The service builds links from the Host header; the indexer has a
            # policy of its own on it (azul.indexer.access)
            if not is_notification and not self._host_allowed():
                return
            if self.command in ('GET', 'HEAD') and is_blob_path(self.path):
                self._send_blob()
                return
            body, error = self._read_body()
            if error is not None:
                self.close_connection = True
                # Framing errors never reach an app; the body is an app's error body
                self._send(error[0], {}, compact(error_body('BadRequestError', error[1])))
                return
            pool = gateways['indexer' if is_notification else 'service']
            try:
                with pool.borrow() as gateway:
                    method = self._method(pool)
                    if method is None:
                        return
                    response = gateway.handle_request(method=method, path=self.path,
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

        def _send_blob(self) -> None:
            response = serve_blob(runtime, self.path)
            if isinstance(response.body, str):
                self._error(response.status, response.body)
                return
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            for chunk in response.body:
                if self.command == 'HEAD':
                    break
                self.wfile.write(chunk)

        def _host_allowed(self) -> bool:
            """Whether the Host header is allowed; if not, after answering 400."""
            host = self.headers.get('host')
            if host is None:
                # HTTP/1.0: links name `localhost` (see Request.base_url)
                return True
            name = host_name(host)
            if name is not None and (self.allowed_hosts is None or name in self.allowed_hosts):
                return True
            # The body, if any, is left unread
            self.close_connection = True
            reason = 'a malformed' if name is None else 'not an allowed'
            self._error(400, f'Host `{host}` is {reason} host (see AZUL_ALLOWED_HOSTS)')
            return False

        def _method(self, pool: _GatewayPool) -> str | None:
            """
            The method to ask the app for, or None after answering a path no
            route matches (404) or a method the route lacks (405). HEAD of a
            GET route is a GET whose body `_send` leaves out.
            """
            try:
                route = pool.matcher.match_route(self.path).route
            except ValueError:
                path = urlsplit(self.path).path
                self._error(404, f'Unknown path `{path}`')
                return None
            methods = pool.routes[route]
            if self.command in methods or self.command == 'OPTIONS':
                # Chalice answers a CORS pre-flight of any route itself
                return self.command
            if self.command == 'HEAD' and 'GET' in methods:
                return 'GET'
            allowed = methods | ({'HEAD'} if 'GET' in methods else set())
            self._error(405, f'Unsupported method: {self.command}',
                        {'Allow': ', '.join(sorted(allowed | {'OPTIONS'}))})
            return None

        def _error(self, status: int, message: str, headers: dict | None = None) -> None:
            self._send(status, dict(headers or {}),
                       compact(error_body(_error_code(status), message)))

        def send_error(self, code: int, message: str | None = None,
                       explain: str | None = None) -> None:
            # What http.server answers itself (a malformed request line, too
            # long a line or too many headers): JSON, not its HTML page
            self.log_error('code %d, message %s', code, message)
            self.close_connection = True
            try:
                phrase = http.HTTPStatus(code).phrase
            except ValueError:
                phrase = 'Error'
            self._send(code, {'Connection': 'close'},
                       compact(error_body(_error_code(code), message or phrase)))

        def __getattr__(self, name: str):
            # Every method, TRACE and unknown ones too, goes through the routes
            # (a 405 from `_method`) rather than http.server's HTML 501
            if name.startswith('do_'):
                return self._handle
            raise AttributeError(name)

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
    server.start(freeze=True)
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
