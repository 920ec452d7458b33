"""
Settings of the `local` deployment; see the root environment.py for every
variable and its default.
"""
from collections.abc import Mapping


def env() -> Mapping[str, str | None]:
    return {
        # One machine, the embedded backend and a local queue: nothing to install.
        'AZUL_INDEX_BACKEND': 'duckdb',
        'AZUL_QUEUE': 'local',
    }
