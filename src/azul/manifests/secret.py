"""
The secret that signs manifest keys and local download links: the setting
AZUL_MANIFEST_SIGNING_KEY, else a random key created once and kept (mode
0600) in the local manifest directory, so that links survive a restart.
"""
import os
import secrets
from pathlib import Path

_FILE = '.signing-key'


def signing_secret(configured: str | None, directory: Path) -> bytes:
    if configured:
        return configured.encode()
    path = Path(directory) / _FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process made it first: use theirs
        return path.read_bytes()
    with os.fdopen(fd, 'wb') as f:
        f.write(key)
    return key
