"""The one Runtime of a Lambda app module, built lazily and injectable."""
import os
import threading

from azul.config import on_lambda
from azul.runtime import Runtime


class RuntimeHolder:
    """
    Holds the runtime of an app module: built from the environment on first
    use (never at import), or injected by the local server and tests.
    """

    def __init__(self):
        self._runtime: Runtime | None = None
        self._lock = threading.Lock()

    def set(self, runtime: Runtime | None) -> None:
        with self._lock:
            self._runtime = runtime

    def get(self) -> Runtime:
        with self._lock:
            if self._runtime is None:
                env = os.environ
                if on_lambda(env):
                    from azul.adapters.aws_secrets import with_secrets
                    env = with_secrets(env)
                self._runtime = Runtime.from_env(env)
            return self._runtime
