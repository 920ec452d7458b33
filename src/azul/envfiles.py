"""
Evaluates the chain of environment files into variables, Azul-style.

Standard library only: the bash ``environment`` file runs this module with the
system Python, before any virtual environment exists.

Order, later wins: ``environment.py``, ``environment.local.py``,
``deployments/<name>/environment.py``, ``deployments/<name>/environment.local.py``.
Variables that the caller exported explicitly win over every file. The loader
tells them apart from ones it set itself by remembering the names it set in
``AZUL_ENV_MANAGED``.
"""
import argparse
import importlib.util
import os
import re
import shlex
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path

MANAGED = 'AZUL_ENV_MANAGED'
DEFAULT_DEPLOYMENT = 'local'
_reference = re.compile(r'\{([A-Z][A-Z0-9_]*)\}')


class EnvironmentFileError(Exception):
    pass


def project_root() -> Path:
    home = os.environ.get('AZUL_HOME')
    if home:
        return Path(home)
    # src/azul/envfiles.py -> the project root, for an editable install or a checkout
    return Path(__file__).resolve().parents[2]


def selected_deployment(root: Path, environ: Mapping[str, str],
                        explicit: set[str] | None = None) -> str:
    if explicit is None:
        explicit = _unmanaged(environ)
    name = environ.get('AZUL_DEPLOYMENT') if 'AZUL_DEPLOYMENT' in explicit else None
    if name is None:
        active = root / 'deployments' / '.active'
        name = os.readlink(active) if active.is_symlink() else DEFAULT_DEPLOYMENT
    if not (root / 'deployments' / name / 'environment.py').is_file():
        raise EnvironmentFileError(f'AZUL_DEPLOYMENT: no such deployment {name!r} '
                                   f'(expected {root}/deployments/{name}/environment.py)')
    return name


def _unmanaged(environ: Mapping[str, str]) -> set[str]:
    managed = set(environ.get(MANAGED, '').split())
    return {name for name in environ if name not in managed}


def _load_file(path: Path) -> Mapping[str, str | None]:
    spec = importlib.util.spec_from_file_location(f'_azul_env_{abs(hash(path))}', path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        values = module.env()
    except Exception as e:
        raise EnvironmentFileError(f'{path}: {type(e).__name__}: {e}') from e
    if not isinstance(values, Mapping):
        raise EnvironmentFileError(f'{path}: env() must return a mapping')
    return values


def evaluate(environ: Mapping[str, str], root: Path | None = None) -> dict[str, str]:
    """
    The variables the files define, interpolated, minus those the caller set.

    The caller set a variable if the loader did not (it is not listed in
    AZUL_ENV_MANAGED), or if the loader did but its value has changed since,
    e.g. `export AZUL_PORT=9000` after `source environment`.
    """
    return _evaluate_explicit(environ, root or project_root())[0]


def _evaluate_explicit(environ: Mapping[str, str], root: Path) -> tuple[dict[str, str], set[str]]:
    explicit = _unmanaged(environ)
    values = _evaluate(environ, root, explicit)
    changed = {name for name in set(environ.get(MANAGED, '').split()) & set(values)
               if name in environ and environ[name] != values[name]}
    if changed:
        explicit |= changed
        values = _evaluate(environ, root, explicit)
    return values, explicit


def _evaluate(environ: Mapping[str, str], root: Path, explicit: set[str]) -> dict[str, str]:
    deployment = selected_deployment(root, environ, explicit)
    paths = [
        root / 'environment.py',
        root / 'environment.local.py',
        root / 'deployments' / deployment / 'environment.py',
        root / 'deployments' / deployment / 'environment.local.py',
    ]
    merged: dict[str, str | None] = {
        'AZUL_HOME': str(root),
        'AZUL_DEPLOYMENT': deployment,
    }
    for path in paths:
        if path.is_file():
            merged.update(_load_file(path))
    # Explicitly exported variables win, and references resolve against them too
    for name in list(merged):
        if name in explicit:
            merged[name] = environ[name]
    values = {k: v for k, v in merged.items() if v is not None}

    def resolve(name: str, stack: tuple[str, ...]) -> str:
        if name in stack:
            raise EnvironmentFileError(f'{name}: circular reference via {" -> ".join(stack)}')

        def substitute(match: re.Match) -> str:
            ref = match.group(1)
            if ref in values:
                return resolve(ref, (*stack, name))
            elif ref in environ:
                return environ[ref]
            else:
                raise EnvironmentFileError(f'{name}: references undefined variable {{{ref}}}')

        return _reference.sub(substitute, values[name])

    resolved = {name: resolve(name, ()) for name in values}
    return {k: v for k, v in resolved.items() if k not in explicit}


def load(environ: MutableMapping[str, str], root: Path | None = None) -> None:
    """
    Apply the files to ``environ`` in place, unless the bash ``environment``
    file already did so in this shell.
    """
    values, explicit = _evaluate_explicit(environ, root or project_root())
    for name in environ.get(MANAGED, '').split():
        if name not in values and name not in explicit:
            environ.pop(name, None)
    environ.update(values)
    environ[MANAGED] = ' '.join(sorted(values))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description='Print the effective Azul environment '
                                                 'as shell export statements.')
    parser.add_argument('--export', action='store_true',
                        help='emit `export NAME=value` lines (for eval in bash)')
    args = parser.parse_args(argv)
    try:
        values, explicit = _evaluate_explicit(os.environ, project_root())
    except EnvironmentFileError as e:
        print(f'echo {shlex.quote("environment: " + str(e))} >&2; false', file=sys.stdout)
        return 1
    for name in os.environ.get(MANAGED, '').split():
        if name not in values and name not in explicit:
            print(f'unset {name}')
    for name, value in sorted(values.items()):
        print(f'export {name}={shlex.quote(value)}' if args.export else f'{name}={value}')
    if args.export:
        print(f'export {MANAGED}={shlex.quote(" ".join(sorted(values)))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
