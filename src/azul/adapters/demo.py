"""
`azul run` (what `make run` calls): a working Azul on one machine within
minutes. Generates the synthetic demo catalog unless it exists, indexes it
unless the index already holds it, applies the demo's deletions, then serves
both APIs and prints example requests.
"""
import json
import logging
import os
import secrets
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from furl import furl
from tqdm import tqdm

from azul.adapters.progress import reindex_with_progress
from azul.adapters.server import LocalServer, wait_for_signal
from azul.config import Catalog, Config
from azul.core.documents import BundleFQID
from azul.indexer.index import Indexer
from azul.runtime import Runtime

log = logging.getLogger(__name__)

DEMO_SEED = 0
# Every fourth project of the demo is restricted (see AZUL_CATALOGS)
DEMO_RESTRICT_EVERY = 4


def demo_directory(config: Config) -> Path | None:
    """The local directory of the default catalog's first file:// source."""
    source = config.default_catalog.sources[0] if config.default_catalog.sources else None
    if source is None or furl(source).scheme != 'file':
        return None
    return _directory(source)


def _directory(source: str) -> Path:
    path = Path(str(furl(source).path))
    # A glob in the last segment selects files within the directory
    return path.parent if any(c in path.name for c in '*?[') else path


def ensure_demo_catalog(config: Config) -> Path | None:
    """
    The directory of the demo catalog, generated unless it is complete. A
    catalog generated before synthetic files had bytes (no `data` directory)
    is generated again: its declared sizes and checksums are not those of any
    bytes, so its downloads could never work.
    """
    directory = demo_directory(config)
    if directory is None:
        return None
    if not (directory / 'stats.json').exists() or _predates(directory):
        from azul_dev.synth import generate
        if directory.exists():
            # stats.json is written last: without it, a previous run was interrupted
            print(f'Removing the incomplete or outdated demo catalog in {directory}')
            shutil.rmtree(directory)
        print(f'Generating {config.demo_bundles} synthetic bundles in {directory} ...')
        with tqdm(total=config.demo_bundles, unit='bundle', file=sys.stderr) as bar:
            stats = generate(config.demo_bundles, directory, seed=DEMO_SEED,
                             progress=bar.update, restrict_every=DEMO_RESTRICT_EVERY)
        print(f'Generated {stats.bundles} bundles, {stats.files} files, '
              f'{stats.projects} projects')
    return directory


def ensure_anvil_demo(config: Config) -> list[Catalog]:
    """
    The AnVIL catalogs whose source is a directory of the demo (under
    AZUL_DATA_DIR/demo), each generated unless it is complete.
    """
    from azul_dev.synth.anvil import generate_anvil
    demo = config.data_dir / 'demo'
    result = []
    for catalog in config.catalogs:
        if catalog.atlas != 'anvil' or not catalog.sources:
            continue
        source = catalog.sources[0]
        if furl(source).scheme != 'file':
            continue
        directory = _directory(source)
        if not directory.is_relative_to(demo):
            continue
        result.append(catalog)
        if not (directory / 'stats.json').exists():
            if directory.exists():
                print(f'Removing the incomplete AnVIL demo catalog in {directory}')
                shutil.rmtree(directory)
            print(f'Generating {config.demo_biosamples} synthetic AnVIL biosamples in '
                  f'{directory} ...')
            with tqdm(total=config.demo_biosamples, unit='biosample', file=sys.stderr) as bar:
                stats = generate_anvil(config.demo_biosamples, directory, seed=DEMO_SEED,
                                       progress=bar.update)
            print(f'Generated {stats.bundles} AnVIL bundles')
    return result


def _predates(directory: Path) -> bool:
    """Whether the demo catalog predates data files, or restricted projects."""
    from azul_dev.synth.data import DATA_DIR
    from azul_dev.synth.generator import RESTRICTED_DIR
    return not (directory / DATA_DIR).is_dir() or not (directory / RESTRICTED_DIR).is_dir()


def index_demo(runtime: Runtime, directory: Path | None, regenerated: bool = False,
               catalog: Catalog | None = None) -> None:
    catalog = catalog or runtime.config.default_catalog
    # A regenerated catalog's bundles replace whatever the index holds
    if not regenerated and runtime.backend.count(catalog.name, 'bundles') > 0:
        print(f'Catalog {catalog.name!r} is already indexed '
              f'({runtime.backend.count(catalog.name, "bundles")} bundles); '
              f'`azul reindex` rebuilds it')
        return
    from azul_dev.synth.generator import RESTRICTED_DIR
    report = reindex_with_progress(runtime, catalog.name)
    print(f'Indexed {report.bundles} bundles: {report.contributions} contributions, '
          f'{report.aggregates} aggregates')
    deletions = directory / 'deletions.json' if directory else None
    if deletions and deletions.exists():
        listed = json.loads(deletions.read_text())
        indexer = Indexer(runtime)
        for restricted in (False, True):
            # Each to the source of its bundle's directory
            mine = [BundleFQID(d['uuid'], d['version']) for d in listed
                    if d.get('restricted', False) == restricted]
            source = _source_of(catalog, directory / RESTRICTED_DIR if restricted
                                else directory)
            if mine and source is not None:
                indexer.index_bundles(catalog.name, source, mine, deleted=True)
        print(f'Applied {len(listed)} bundle deletion(s) listed in {deletions}')


def _source_of(catalog: Catalog, directory: Path) -> str | None:
    """The catalog's file:// source of bundles in `directory`."""
    for source in catalog.sources:
        if furl(source).scheme == 'file' and _directory(source) == directory:
            return source
    return None


DEMO_GROUP = 'demo-consent'


def ensure_demo_token(config: Config) -> None:
    """
    A token of the group that may read the demo's restricted source, in the
    token file, unless the file exists. Its path is printed, never the token.
    """
    path = config.tokens_file
    if path is None or path.exists():
        return
    restricted = [c for c in config.catalogs if DEMO_GROUP in dict(c.groups).values()]
    if not restricted:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump({token: {'subject': 'demo@example.org', 'groups': [DEMO_GROUP]}}, f,
                  indent=2)
    print(f'Wrote a bearer token of group {DEMO_GROUP!r} (the restricted demo source) to '
          f'{path}')


def sample_notification(runtime: Runtime) -> tuple[str, dict] | None:
    """
    A notification that adds a real bundle: one of a catalog that is not
    indexed yet (the `fixtures` catalog, typically), so that posting it
    visibly adds something.
    """
    for catalog in runtime.config.catalogs[1:]:
        for source in catalog.sources:
            try:
                listing = runtime.repository_plugin(catalog).list_bundles(source)
            except Exception:  # a source that is not there is no example
                continue
            if listing.bundles:
                fqid = listing.bundles[0]
                return catalog.name, {'bundle_fqid': {**fqid.to_json(),
                                                      'source': {'id': catalog.name,
                                                                 'spec': source}}}
    return None


def examples(url: str, catalog: str, notification: tuple[str, dict] | None,
             anvil: Sequence[str] = ()) -> str:
    filters = furl('').set({'filters': json.dumps({'organ': {'is': ['brain']}})}).url
    text = f'''
Azul is running at {url}/  (Swagger UI; the OpenAPI description is at {url}/openapi)

Try:
  curl '{url}/index/projects?catalog={catalog}&size=5'
  curl '{url}/index/files?catalog={catalog}&size=5&{filters.lstrip("?")}'
  curl '{url}/index/summary?catalog={catalog}'

Every fourth demo project is a restricted source: anonymous callers see the
others' files (projects are listed to all, marked `accessible`). With the token of
AZUL_TOKENS_FILE (its key; in Swagger UI: Authorize), you see them all:
  curl -H "Authorization: Bearer $TOKEN" '{url}/repository/sources?catalog={catalog}'
'''
    for name in anvil:
        text += f'''
The AnVIL demo catalog {name!r}:
  curl '{url}/index/datasets?catalog={name}&size=5'
  curl '{url}/index/summary?catalog={name}'
'''
    if notification is not None:
        other, body = notification
        text += f'''
Index a bundle while it runs (it becomes searchable within seconds):
  curl -X POST '{url}/{other}/add' -H 'Content-Type: application/json' -d '{json.dumps(body)}'
  curl '{url}/index/bundles?catalog={other}'
'''
    return text + '''
Ctrl-C stops the server; queued work resumes at the next start.
'''


def _stamp(directory: Path | None) -> int | None:
    """When the demo catalog was completed, if it was."""
    try:
        return None if directory is None else (directory / 'stats.json').stat().st_mtime_ns
    except FileNotFoundError:
        return None


def run(config: Config, port: int | None = None) -> int:
    print('Settings:\n' + config.settings_table(os.environ) + '\n')
    print(f'Deployment {config.deployment!r}, backend {config.index_backend}, '
          f'catalogs: {", ".join(c.name for c in config.catalogs)} (`azul config` shows all '
          f'settings)')
    # Generating the catalog anew (re)writes stats.json, and calls for a reindex
    before = _stamp(demo_directory(config))
    directory = ensure_demo_catalog(config)
    anvil = ensure_anvil_demo(config)
    ensure_demo_token(config)
    runtime = Runtime(config)
    index_demo(runtime, directory, regenerated=_stamp(directory) != before)
    for catalog in anvil:
        index_demo(runtime, None, catalog=catalog)
    server = LocalServer(runtime, config.host, port or config.port)
    server.start(freeze=True)
    catalog = config.default_catalog
    print(examples(server.url, catalog.name, sample_notification(runtime),
                   [c.name for c in anvil]))
    wait_for_signal()
    server.stop()
    runtime.close()
    return 0
