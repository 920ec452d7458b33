"""
The directory `chalice package` turns into a Lambda function's deployment.zip.

A checkout holds more than a function runs: the synthetic generator and
benchmark data (`azul_dev`), tests, scripts, the local server's dependencies.
Chalice packages what its project directory holds (app.py, chalicelib/,
vendor/ and the requirements of a requirements.txt), so the project is
assembled from exactly the runtime parts instead of being `lambdas/<app>`
inside the checkout:

    build/<deployment>/<app>/project/
        app.py                  from lambdas/<app>/
        .chalice/config.json    from lambdas/<app>/, its one stage named <deployment>
        vendor/azul/            src/azul without byte code
        vendor/...              the runtime requirements (`EXCLUDED`), installed

`chalice package` writes the zip and its Terraform next to project/, in
build/<deployment>/<app>/ (`azul.deploy.chalice`).

The requirements are installed into vendor/ rather than listed in a
requirements.txt for Chalice, because Chalice caches what it downloads under
a hash that covers the app's code: every change would download them again.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from azul.envfiles import project_root
from azul.errors import ConfigError

APPS = ('indexer', 'service')

#: Distributions of requirements.txt that the package leaves out, and why
EXCLUDED: Mapping[str, str] = {
    # 35 MB unzipped, a package of its own (botocore) that the runtime
    # already holds
    'boto3': "Lambda's Python runtime provides boto3 and botocore",
    'chalice': '`chalice package` adds the one module of chalice an app imports '
               '(chalice/app.py); the rest is the CLI and the local gateway',
    # The backend on Lambda is opensearch (Config refuses duckdb there); the
    # modules that import duckdb are those of the embedded backend and of the
    # local BigQuery emulator, which nothing imports when a function runs
    'duckdb': 'the embedded backend, never selected on Lambda (70 MB unzipped)',
    'nanoarrow': 'the embedded backend hands DuckDB its rows with it',
    'pyroaring': "the embedded backend's term bitmaps",
    'numpy': "the embedded backend's filtered summaries from its term bitmaps (73 MB installed)",
    'sqlglot': 'the local BigQuery emulator (on DuckDB) translates SQL with it',
    'tqdm': "the CLI's progress bars",
}

#: Byte code the building machine's runs left behind (possibly of modules
#: since deleted) is no part of a package; a function compiles the sources
_BYTE_CODE = shutil.ignore_patterns('__pycache__', '*.pyc')
#: ... nor the package's documentation
_AZUL_IGNORED = shutil.ignore_patterns('__pycache__', '*.pyc', '*.md')


def runtime_requirements(lines: Iterable[str]) -> list[str]:
    """The lines of requirements.txt a function needs, comments dropped."""
    kept, seen = [], set()
    for line in lines:
        requirement = line.split('#', 1)[0].strip()
        if not requirement:
            continue
        if requirement.startswith('-'):
            # An option or an include would pull in what this list cannot see
            raise ConfigError(f'requirements.txt: {requirement!r} is not a pinned requirement')
        name = _distribution(requirement)
        seen.add(name)
        if name not in EXCLUDED:
            kept.append(requirement)
    stale = set(EXCLUDED) - seen
    if stale:
        # An exclusion outliving its requirement would hide a later re-addition
        raise ConfigError(f'Excluded from the Lambda package but not in requirements.txt: '
                          f'{sorted(stale)}')
    return kept


def _distribution(requirement: str) -> str:
    name = requirement
    for separator in ('[', ';', '=', '<', '>', '!', '~', ' '):
        name = name.split(separator, 1)[0]
    return name.strip().lower().replace('_', '-')


def chalice_config(config: Mapping, deployment: str) -> dict:
    """
    The app's .chalice/config.json with one stage, named after the deployment:
    its own if the file has it, else a copy of the file's first stage, so
    that every deployment gets the same functions.
    """
    stages = config.get('stages') or {}
    if not stages:
        raise ConfigError('.chalice/config.json defines no stage')
    stage = dict(stages.get(deployment) or next(iter(stages.values())))
    stage['api_gateway_stage'] = deployment
    return {**config, 'stages': {deployment: stage}}


def dependencies(requirements: list[str], root: Path | None = None) -> Path:
    """
    A directory of the runtime dependencies installed as Lambda's Python
    finds them: manylinux wheels for the glibc of its runtime, pure-Python
    wheels built from sdists where a project publishes no wheel (bagit).
    Chalice's own dependency builder does the work; unlike `chalice package`
    given a requirements.txt, which downloads everything again whenever the
    app's code changes, this keeps the result until the requirements change.
    """
    from chalice.deploy.packager import DependencyBuilder
    from chalice.utils import OSUtils

    # Chalice picks the runtime of the interpreter it runs on, and so do we
    abi = f'cp{sys.version_info.major}{sys.version_info.minor}'
    text = '\n'.join(requirements) + '\n'
    key = hashlib.sha256(f'{abi}\n{text}'.encode()).hexdigest()[:16]
    cache = (project_root() if root is None else root) / 'build' / 'lambda-dependencies'
    target = cache / f'{abi}-{key}'
    if target.is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    listing = cache / f'{abi}-{key}.requirements.txt'
    listing.write_text(text)
    # Built aside and renamed, so that a build that failed or was interrupted
    # is never taken for a complete one, and two concurrent builds both finish
    partial = cache / f'{target.name}.{os.getpid()}.partial'
    try:
        DependencyBuilder(OSUtils()).build_site_packages(abi, str(listing), str(partial))
    except Exception as e:
        shutil.rmtree(partial, ignore_errors=True)
        raise ConfigError(f'Cannot install the Lambda dependencies {listing}: {e}') from e
    try:
        partial.rename(target)
    except OSError:
        if not target.is_dir():
            raise
        shutil.rmtree(partial)
    return target


def prepare_app(app: str, deployment: str, root: Path | None = None,
                build: Path | None = None) -> Path:
    """
    Assemble the Chalice project of `app` for `deployment` and return its
    directory, ready for `chalice package --stage <deployment>`.

    `root`: the checkout (lambdas/, src/azul, requirements.txt); `build`:
    where the project goes instead of <root>/build. The dependencies are
    cached under <root>/build either way.
    """
    if app not in APPS:
        raise ConfigError(f'No such app: {app!r}; the apps are {", ".join(APPS)}')
    root = project_root() if root is None else root
    source = root / 'lambdas' / app
    project = (root / 'build' if build is None else build) / deployment / app / 'project'
    requirements = runtime_requirements((root / 'requirements.txt').read_text().splitlines())
    site = dependencies(requirements, root)
    # Rebuilt from scratch, so that a module deleted from src/azul leaves the
    # package too. That includes Chalice's cache (.chalice/deployments): with
    # no requirements.txt it holds nothing but stale zips, one per change.
    if project.exists():
        shutil.rmtree(project)
    (project / '.chalice').mkdir(parents=True)
    shutil.copy2(source / 'app.py', project / 'app.py')
    config = json.loads((source / '.chalice' / 'config.json').read_text())
    (project / '.chalice' / 'config.json').write_text(
        json.dumps(chalice_config(config, deployment), indent=2) + '\n')
    # Chalice puts the contents of vendor/ at the root of the zip
    shutil.copytree(site, project / 'vendor', ignore=_BYTE_CODE)
    shutil.copytree(root / 'src' / 'azul', project / 'vendor' / 'azul', ignore=_AZUL_IGNORED)
    return project


def package(app: str, deployment: str, region: str, root: Path | None = None,
            build: Path | None = None) -> Path:
    """
    `chalice package` of the prepared app: deployment.zip and chalice.tf.json
    in build/<deployment>/<app>/. Returns the zip.
    """
    project = prepare_app(app, deployment, root, build)
    return chalice_package(app, project, project.parent, deployment, region)


def chalice_package(app: str, project: Path, out: Path, deployment: str, region: str) -> Path:
    """
    `chalice package --pkg-format terraform` of the Chalice project into
    `out` (deployment.zip and chalice.tf.json). Returns the zip.
    """
    out.mkdir(parents=True, exist_ok=True)
    for stale in ('deployment.zip', 'chalice.tf.json'):
        (out / stale).unlink(missing_ok=True)
    # A process of its own: Chalice imports app.py as the module `app` to
    # find its routes and event sources, and the indexer's queue names
    # depend on the deployment at import time
    env = {**os.environ, 'AZUL_DEPLOYMENT': deployment, 'AWS_DEFAULT_REGION': region}
    chalice = Path(sys.executable).with_name('chalice')
    result = subprocess.run([str(chalice), '--project-dir', str(project), 'package',
                             '--pkg-format', 'terraform', '--stage', deployment, str(out)],
                            env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise ConfigError(f'chalice package of {app} failed:\n{result.stdout}{result.stderr}')
    return out / 'deployment.zip'


def package_apps(apps: Iterable[str], deployment: str, region: str,
                 root: Path | None = None, build: Path | None = None) -> dict[str, Path]:
    """`package` of each app, at once; their zips by app."""
    apps = list(apps)
    root = project_root() if root is None else root
    # Installed before the apps start, which would otherwise both install them
    dependencies(runtime_requirements((root / 'requirements.txt').read_text().splitlines()),
                 root)
    with ThreadPoolExecutor(max_workers=len(apps)) as pool:
        futures = {app: pool.submit(package, app, deployment, region, root, build)
                   for app in apps}
    return {app: future.result() for app, future in futures.items()}


def unzipped_size(path: Path) -> int:
    """What counts against Lambda's limit of 250 MB for code and layers."""
    with zipfile.ZipFile(path) as z:
        return sum(info.file_size for info in z.infolist())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description='Build the Lambda packages of the selected '
                                                 'deployment (AZUL_DEPLOYMENT)')
    parser.add_argument('apps', nargs='*', metavar='app',
                        help=f'{" and/or ".join(APPS)} (default: both)')
    args = parser.parse_args(argv)
    unknown = set(args.apps) - set(APPS)
    if unknown:
        parser.error(f'no such app: {", ".join(sorted(unknown))}')
    deployment = os.environ.get('AZUL_DEPLOYMENT', 'local')
    region = os.environ.get('AZUL_AWS_REGION', 'us-east-1')
    for path in package_apps(args.apps or APPS, deployment, region).values():
        print(f'{path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}: '
              f'{path.stat().st_size / 1e6:.1f} MB, '
              f'{unzipped_size(path) / 1e6:.1f} MB unzipped (Lambda allows 262.1)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
