"""
A real single-node OpenSearch 2.19 for tests and local development.

The node runs in a JVM subprocess, in-process from the Maven Central artifacts
declared in ``pom.xml`` next to this file (see ``README.md``). The first use
builds it with Maven (``mvn -q -B package``, about a minute, mostly downloads
into ``~/.m2``); later starts reuse the build and take seconds.

Only the Python standard library is used, so this module can be imported by
the test suite and run as a script before any virtualenv exists::

    python scripts/opensearch/node.py [--port 9200] [--data-dir DIR]

Programmatic use::

    with OpenSearchNode() as node:   # free loopback port, fresh data dir
        client = OpenSearch(node.url)
        ...
"""
from __future__ import annotations

import argparse
import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

__all__ = [
    'OpenSearchNode',
    'MissingToolError',
    'build',
    'main',
]

HERE = Path(__file__).resolve().parent
POM = HERE / 'pom.xml'
SOURCES = HERE / 'src'
TARGET = HERE / 'target'
CLASSES = TARGET / 'classes'
LIB = TARGET / 'lib'
BUILD_STAMP = TARGET / '.build-stamp'
BUILD_LOCK = TARGET / '.build.lock'
FRESH_DIRS = TARGET / 'nodes'
MAIN_CLASS = 'azul.OpenSearchNode'
READY_PREFIX = 'OpenSearch started at '
MIN_JAVA = 11

#: Default JVM options, mostly those that OpenSearch's own launcher uses
#: (``SystemJvmOptions`` and ``jvm.options`` of the distribution). Options in
#: the environment variable ``OPENSEARCH_JAVA_OPTS`` are appended and thus
#: take precedence, e.g. ``OPENSEARCH_JAVA_OPTS=-Xmx2g``.
JVM_OPTIONS = (
    '-Xms512m',
    '-Xmx1g',
    '-Xss1m',
    '-XX:+ExitOnOutOfMemoryError',
    '-XX:-OmitStackTraceInFastThrow',
    '-Djava.awt.headless=true',
    '-Dfile.encoding=UTF-8',
    '-Djna.nosys=true',
    '-Dio.netty.noUnsafe=true',
    '-Dio.netty.noKeySetOptimization=true',
    '-Dio.netty.recycler.maxCapacityPerThread=0',
    '-Dlog4j.shutdownHookEnabled=false',
    '-Dlog4j2.disable.jmx=true',
    '-Dlog4j2.formatMsgNoLookups=true',
)


class MissingToolError(RuntimeError):
    """
    Raised when ``java`` or ``mvn`` is missing or unusable.
    """


def _java() -> str:
    java_home = os.environ.get('JAVA_HOME')
    if java_home:
        java = Path(java_home) / 'bin' / 'java'
        if java.is_file() and os.access(java, os.X_OK):
            return str(java)
    java = shutil.which('java')
    if java is None:
        raise MissingToolError(
            f'Java {MIN_JAVA}+ (17 recommended) is required to run the OpenSearch '
            f'test node but `java` is not on PATH (and JAVA_HOME is not set). '
            f'Install a JDK, e.g. `sudo apt-get install openjdk-17-jdk-headless` '
            f'on Debian/Ubuntu or `brew install openjdk@17` on macOS, and make '
            f'sure `java -version` works.'
        )
    return java


def _mvn() -> str:
    mvn = shutil.which('mvn')
    if mvn is None:
        raise MissingToolError(
            'Maven is required to build the OpenSearch test node (once, the '
            'build is cached in scripts/opensearch/target) but `mvn` is not on '
            'PATH. Install it, e.g. `sudo apt-get install maven` on Debian/Ubuntu '
            'or `brew install maven` on macOS.'
        )
    return mvn


_java_versions: dict[str, int] = {}


def java_version(java: str | None = None) -> int:
    """
    The major version of the given (or the default) ``java`` executable.
    """
    java = _java() if java is None else java
    try:
        return _java_versions[java]
    except KeyError:
        pass
    try:
        process = subprocess.run([java, '-version'],
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT,
                                 text=True,
                                 timeout=60)
    except OSError as e:
        raise MissingToolError(f'Cannot run `{java} -version`: {e}') from e
    match = re.search(r'version "(\d+)(?:\.(\d+))?', process.stdout)
    if process.returncode != 0 or match is None:
        raise MissingToolError(f'Cannot determine the version of {java}: '
                               f'`{java} -version` printed {process.stdout!r}')
    major = int(match[1])
    if major == 1:  # 1.8.0_123 and older
        major = int(match[2])
    _java_versions[java] = major
    return major


def _check_java(java: str) -> None:
    version = java_version(java)
    if version < MIN_JAVA:
        raise MissingToolError(
            f'OpenSearch 2.x requires Java {MIN_JAVA} or newer (17 recommended) '
            f'but {java} is Java {version}. Install a newer JDK and put it on '
            f'PATH or point JAVA_HOME at it.'
        )


def _source_files() -> list[Path]:
    return [POM, *sorted(p for p in SOURCES.rglob('*') if p.is_file())]


def _sources_digest() -> str:
    digest = hashlib.sha256()
    for path in _source_files():
        digest.update(str(path.relative_to(HERE)).encode())
        digest.update(b'\0')
        digest.update(path.read_bytes())
        digest.update(b'\0')
    return digest.hexdigest()


def _is_built(digest: str) -> bool:
    try:
        stamp = BUILD_STAMP.read_text().strip()
    except FileNotFoundError:
        return False
    return (
        stamp == digest
        and (CLASSES / 'azul' / 'OpenSearchNode.class').is_file()
        and any(LIB.glob('opensearch-2.*.jar'))
    )


@contextlib.contextmanager
def _build_lock(exclusive: bool = True):
    """
    Several processes (pytest-xdist workers, parallel make targets) may build
    and start nodes at the same time. A build holds this lock exclusively, a
    node holds it shared while it's starting, so that a build doesn't pull
    the jars out from under a starting JVM.
    """
    TARGET.mkdir(parents=True, exist_ok=True)
    with open(BUILD_LOCK, 'a') as f:
        fcntl.flock(f, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def build(force: bool = False) -> None:
    """
    Build the node with Maven unless an up-to-date build exists.

    The build is considered up-to-date when ``target/.build-stamp`` records
    the digest of the current ``pom.xml`` and ``src/`` and the build outputs
    exist, so a rebuild happens exactly when one of those changed.
    """
    digest = _sources_digest()
    if not force and _is_built(digest):
        return
    with _build_lock():
        if not force and _is_built(digest):
            return  # built by someone else while we waited for the lock
        mvn = _mvn()
        _check_java(_java())
        # Don't let stale jars from an earlier pom linger in target/lib
        for path in (CLASSES, LIB, BUILD_STAMP):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        command = [mvn, '-q', '-B', 'package']
        print(f'Building the OpenSearch test node in {HERE} (`{shlex.join(command)}`), '
              f'this takes about a minute the first time ...',
              file=sys.stderr, flush=True)
        start = time.monotonic()
        process = subprocess.run(command,
                                 cwd=HERE,
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT,
                                 text=True)
        if process.returncode != 0:
            raise RuntimeError(
                f'Building the OpenSearch test node failed (exit status '
                f'{process.returncode}) with `{shlex.join(command)}` in {HERE}:\n'
                + _tail(process.stdout, 80)
            )
        BUILD_STAMP.write_text(digest + '\n')
        print(f'Built the OpenSearch test node in {time.monotonic() - start:.0f}s',
              file=sys.stderr, flush=True)


def _classpath() -> str:
    return os.pathsep.join([str(CLASSES), str(LIB / '*')])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _tail(text: str, lines: int = 60) -> str:
    return '\n'.join(text.splitlines()[-lines:])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_fresh_dirs() -> None:
    """
    Remove the fresh data directories of nodes whose Python parent is gone
    without cleaning up, e.g. because it was killed.
    """
    if not FRESH_DIRS.is_dir():
        return
    for path in FRESH_DIRS.iterdir():
        try:
            owner = int((path / 'owner.pid').read_text())
        except (OSError, ValueError):
            # Either not ours, or just being created
            if time.time() - path.stat().st_mtime < 3600:
                continue
        else:
            if _pid_alive(owner):
                continue
        shutil.rmtree(path, ignore_errors=True)


class _PortTaken(RuntimeError):
    pass


# Nodes started by this process and not yet stopped, for the signal handlers
_running: set[OpenSearchNode] = set()
_running_lock = threading.Lock()
_handled_signals: set[int] = set()
_previous_handlers: dict[int, object] = {}


def _stop_all() -> None:
    with _running_lock:
        nodes = list(_running)
    for node in nodes:
        with contextlib.suppress(Exception):
            node.stop()


def _on_signal(signum, frame):
    _stop_all()
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
    else:
        # Re-deliver the signal with its original disposition
        signal.signal(signum, previous)
        os.kill(os.getpid(), signum)


def _install_signal_handlers() -> None:
    """
    Stop nodes on SIGTERM and SIGHUP unless someone else handles those.

    This is only a courtesy: the JVM also exits on its own as soon as its
    standard input, a pipe from this process, is closed, which the kernel
    does whenever this process dies, even by SIGKILL.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signum in _handled_signals:
            continue
        previous = signal.getsignal(signum)
        if previous in (signal.SIG_DFL, None):
            _previous_handlers[signum] = signal.SIG_DFL
            signal.signal(signum, _on_signal)
            _handled_signals.add(signum)


class OpenSearchNode:
    """
    A single OpenSearch node, run as a JVM subprocess.

    :param port: The HTTP port to bind to on 127.0.0.1. By default a free port
                 is picked.

    :param data_dir: The directory for the node's data (``data/``), logs
                     (``logs/``, the node's output goes to ``logs/node.log``),
                     config and temporary files. It is kept, so its indices
                     persist across restarts. By default a fresh directory
                     under ``scripts/opensearch/target/nodes/`` is created on
                     every start and removed on stop.
    """

    def __init__(self, port: int | None = None, data_dir: Path | None = None):
        self._auto_port = port is None
        self.port = _free_port() if port is None else int(port)
        self.url = f'http://127.0.0.1:{self.port}'
        self._data_dir = None if data_dir is None else Path(data_dir).absolute()
        self.data_dir: Path | None = self._data_dir
        self.process: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None
        self._fresh_dir: Path | None = None

    def __repr__(self) -> str:
        return f'{type(self).__name__}(url={self.url!r}, data_dir={self.data_dir!r})'

    @property
    def log_file(self) -> Path | None:
        """
        The file that receives the node's output (its log), if started.
        """
        return None if self.data_dir is None else self.data_dir / 'logs' / 'node.log'

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 300) -> None:
        """
        Build the node if needed, launch it and wait until its cluster health
        is green or yellow.

        :param timeout: Seconds to wait for the node to become ready, not
                        counting a build.

        :raises MissingToolError: if ``java`` or, for a build, ``mvn`` is
                                  missing or Java is older than 11

        :raises RuntimeError: if the build fails or the node does not come up
                              in time; the message includes the end of the
                              node's log
        """
        if self.process is not None:
            raise RuntimeError(f'{self!r} has already been started')
        java = _java()
        _check_java(java)
        build()
        attempts = 3 if self._auto_port else 1
        for attempt in range(1, attempts + 1):
            try:
                with _build_lock(exclusive=False):
                    if not _is_built(_sources_digest()):
                        # Rebuilt with different sources since we built
                        raise RuntimeError('The OpenSearch test node was modified '
                                           'while starting it, please retry')
                    self._start(java, timeout)
            except _PortTaken:
                # Someone grabbed the free port we picked; pick another one
                if attempt == attempts:
                    raise
                self.port = _free_port()
                self.url = f'http://127.0.0.1:{self.port}'
            else:
                break

    def _start(self, java: str, timeout: float) -> None:
        if self._data_dir is None:
            FRESH_DIRS.mkdir(parents=True, exist_ok=True)
            _remove_stale_fresh_dirs()
            self._fresh_dir = Path(tempfile.mkdtemp(prefix=f'{self.port}-', dir=FRESH_DIRS))
            (self._fresh_dir / 'owner.pid').write_text(str(os.getpid()))
            self.data_dir = self._fresh_dir
        else:
            self.data_dir = self._data_dir
        tmp_dir = self.data_dir / 'tmp'
        tmp_dir.mkdir(parents=True, exist_ok=True)
        log_file = self.log_file
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_offset = log_file.stat().st_size if log_file.exists() else 0
        locale_providers = 'SPI,COMPAT' if java_version(java) < 23 else 'SPI,CLDR'
        command = [
            java,
            *JVM_OPTIONS,
            f'-Djava.locale.providers={locale_providers}',
            f'-Djava.io.tmpdir={tmp_dir}',
            *shlex.split(os.environ.get('OPENSEARCH_JAVA_OPTS', '')),
            '-cp', _classpath(),
            MAIN_CLASS,
            '--port', str(self.port),
            '--data-dir', str(self.data_dir),
            '--exit-on-stdin-close',
        ]
        self._log = open(log_file, 'ab')
        self._log.write(f'# {shlex.join(command)}\n'.encode())
        self._log.flush()
        self.process = subprocess.Popen(command,
                                        cwd=HERE,
                                        # The JVM exits when this pipe closes
                                        stdin=subprocess.PIPE,
                                        stdout=self._log,
                                        stderr=subprocess.STDOUT,
                                        # Own session, so that a Ctrl-C in the
                                        # terminal reaches only us, and we stop
                                        # the node in an orderly fashion
                                        start_new_session=True)
        with _running_lock:
            _running.add(self)
        atexit.register(self.stop)
        _install_signal_handlers()
        try:
            self._await_ready(timeout, log_offset)
        except _PortTaken:
            self.stop(keep_data=not self._auto_port)
            raise
        except BaseException:
            self.stop(keep_data=True)
            raise

    def _await_ready(self, timeout: float, log_offset: int) -> None:
        deadline = time.monotonic() + timeout
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        announced = False
        last_error = None
        while True:
            if not announced:
                output = self._read_log(log_offset)
                for line in output.splitlines():
                    if line.startswith(READY_PREFIX):
                        url = line[len(READY_PREFIX):].strip()
                        if url != self.url:
                            raise RuntimeError(f'Node announced {url}, expected {self.url}')
                        announced = True
            if announced:
                # Waiting for pending cluster state updates to be processed
                # (languid is the lowest priority) makes sure that existing
                # indices were recovered into the cluster state, so that we
                # don't report ready while they are still red.
                url = (self.url + '/_cluster/health'
                       '?wait_for_events=languid&wait_for_status=yellow&timeout=2s')
                try:
                    with opener.open(url, timeout=30) as response:
                        health = json.load(response)
                except (OSError, ValueError) as e:  # includes HTTPError 408 on timeout
                    last_error = e
                else:
                    if health.get('status') in ('green', 'yellow') and not health.get('timed_out'):
                        return
                    last_error = f'cluster health is {health!r}'
            status = self.process.poll()
            if status is not None:
                output = self._read_log(log_offset)
                # The Java side prints a one-line summary of a fatal error
                summary = ''.join(
                    line + '\n'
                    for line in output.splitlines()
                    if line.startswith('Failed to ')
                )
                if 'BindHttpException' in output and 'Address already in use' in output:
                    raise _PortTaken(
                        f'Port {self.port} on 127.0.0.1 is already in use.\n{summary}'
                        f'End of the log ({self.log_file}):\n{_tail(output)}'
                    )
                raise RuntimeError(
                    f'The OpenSearch node exited with status {status} during startup.\n'
                    f'{summary}End of its log ({self.log_file}):\n{_tail(output)}'
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f'The OpenSearch node at {self.url} did not become ready within '
                    f'{timeout:.0f}s (last error: {last_error}). End of its log '
                    f'({self.log_file}):\n{self.log_tail()}'
                )
            time.sleep(0.2)

    def _read_log(self, offset: int = 0) -> str:
        try:
            with open(self.log_file, 'rb') as f:
                f.seek(offset)
                return f.read().decode(errors='replace')
        except (OSError, TypeError):
            return ''

    def log_tail(self, lines: int = 60) -> str:
        """
        The last lines of the node's log.
        """
        return _tail(self._read_log(), lines)

    def stop(self, keep_data: bool = False) -> None:
        """
        Stop the node, gracefully if possible, and wait for the JVM to exit.
        Does nothing if the node isn't running. A fresh data directory is
        removed unless ``keep_data`` is true.
        """
        process, self.process = self.process, None
        with _running_lock:
            _running.discard(self)
        atexit.unregister(self.stop)
        if process is not None:
            if process.poll() is None:
                process.terminate()  # SIGTERM, the JVM closes the node
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._fresh_dir is not None and not keep_data:
            shutil.rmtree(self._fresh_dir, ignore_errors=True)
            self._fresh_dir = None
            self.data_dir = None

    def __enter__(self) -> OpenSearchNode:
        if not self.running:
            self.start()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='node.py',
        description='Run a single-node OpenSearch on 127.0.0.1 until interrupted '
                    '(Ctrl-C or SIGTERM). Builds it with Maven first if needed.'
    )
    parser.add_argument('--port', type=int, default=9200,
                        help='HTTP port (default: %(default)s, 0 for any free port)')
    parser.add_argument('--data-dir', type=Path, default=None,
                        help='Persistent directory for data and logs (default: a '
                             'fresh directory that is removed on exit)')
    parser.add_argument('--timeout', type=float, default=300,
                        help='Seconds to wait for the node to start (default: %(default)s)')
    parser.add_argument('--build-only', action='store_true',
                        help='Just build the node, if necessary, then exit')
    args = parser.parse_args(argv)
    try:
        if args.build_only:
            _check_java(_java())
            build()
            return 0
        node = OpenSearchNode(port=args.port or None, data_dir=args.data_dir)
        stop_requested = threading.Event()

        def request_stop(signum, frame):
            stop_requested.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGHUP, request_stop)
        try:
            node.start(timeout=args.timeout)
            print(f'OpenSearch is running at {node.url}', flush=True)
            print(f'Log: {node.log_file}', flush=True)
            print('Press Ctrl-C to stop', flush=True)
            while not stop_requested.wait(1):
                if not node.running:
                    print(f'The OpenSearch node exited unexpectedly. End of its log:\n'
                          f'{node.log_tail()}', file=sys.stderr, flush=True)
                    return 1
        except KeyboardInterrupt:
            pass
        finally:
            if node.running:
                print('Stopping OpenSearch ...', file=sys.stderr, flush=True)
            node.stop()
        return 0
    except RuntimeError as e:  # includes MissingToolError
        print(f'ERROR: {e}', file=sys.stderr, flush=True)
        return 1


if __name__ == '__main__':
    sys.exit(main())
