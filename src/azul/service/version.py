"""
GET /version: the git commit the service runs and whether its tree was dirty.

Where that comes from, in this order:

1. `AZUL_GIT_COMMIT` and `AZUL_GIT_DIRTY` (`true`/`false`) in the environment:
   a deployment packaged without its `.git` (a Lambda function) gets them from
   the deploy step, and an explicit setting should win over guessing;
2. `git` run in the project directory, once per process;
3. neither: commit `unknown`, not dirty.
"""
import functools
import subprocess
from collections.abc import Mapping
from pathlib import Path

from azul.service.request import Request, parameters
from azul.service.responses import Response, json_response

ROOT = Path(__file__).resolve().parents[3]


def git_info(env: Mapping[str, str], root: Path = ROOT) -> dict[str, str | bool]:
    commit = env.get('AZUL_GIT_COMMIT')
    if commit:
        return {'commit': commit, 'dirty': env.get('AZUL_GIT_DIRTY', 'false') == 'true'}
    return dict(_from_git(root))


@functools.cache
def _from_git(root: Path) -> tuple[tuple[str, str | bool], ...]:
    def git(*args: str) -> str:
        return subprocess.run(['git', *args], cwd=root, capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
    try:
        commit = git('rev-parse', 'HEAD')
        dirty = bool(git('status', '--porcelain', '--untracked-files=no'))
    except (OSError, subprocess.SubprocessError):
        commit, dirty = 'unknown', False
    return (('commit', commit), ('dirty', dirty))


def version(request: Request, env: Mapping[str, str]) -> Response:
    # The original reads no parameter here, and refuses none
    parameters(request, (), ignore_unknown=True)
    return json_response({'git': git_info(env), 'changes': []})
