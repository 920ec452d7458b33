"""The one Runtime of a Lambda app module, built lazily and injectable."""
import os
import threading

from azul import collector
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
                lambda_function = on_lambda(env)
                if lambda_function:
                    from azul.adapters.aws_secrets import with_secrets
                    env = with_secrets(env)
                self._runtime = Runtime.from_env(env)
                if lambda_function:
                    # A function's process serves invocation after invocation
                    # with what its first one built (see `collector.freeze_held`)
                    collector.freeze_held()
            return self._runtime
