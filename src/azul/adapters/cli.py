"""
The `azul` command. Each subcommand parses its arguments and calls code that
lives elsewhere; settings come from the environment files (see environment.py),
loaded here if the shell has not sourced them.
"""
import argparse
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from azul import envfiles
from azul.config import Config
from azul.errors import AzulError, ConfigError
from azul.masking import install_log_masking

log = logging.getLogger('azul')


def _runtime(args):
    from azul.runtime import Runtime
    return Runtime(args.config)


def cmd_config(args) -> int:
    """Print the effective settings, secrets masked."""
    print(args.config.settings_table(os.environ))
    print(f'\n{len(args.config.catalogs)} catalog(s): '
          + ', '.join(f'{c.name} ({c.atlas}, {len(c.sources)} source(s))'
                      for c in args.config.catalogs))
    return 0


def cmd_reindex(args) -> int:
    """Index every bundle of a catalog into a new generation of its indices, then switch to it."""
    from azul.adapters.progress import reindex_with_progress
    runtime = _runtime(args)
    catalog = runtime.catalog(args.catalog).name
    report = reindex_with_progress(runtime, catalog, args.source or None, quiet=args.quiet)
    print(f'Indexed {report.bundles} bundle(s) into catalog {catalog!r}: '
          f'{report.contributions} contribution(s), {report.aggregates} aggregate(s)')
    if report.problems:
        print(f'{len(report.problems)} problem(s):', file=sys.stderr)
        for problem in report.problems:
            print(f'  {problem.location}: {problem.reason}', file=sys.stderr)
    return 0


def _bundle_command(args, deleted: bool) -> int:
    from azul.core.documents import BundleFQID, normalize_version, validate_uuid
    from azul.indexer.index import Indexer
    runtime = _runtime(args)
    catalog = runtime.catalog(args.catalog)
    fqid = BundleFQID(validate_uuid(args.uuid, 'bundle uuid'), normalize_version(args.version))
    source = args.source or _find_source(runtime, catalog, fqid)
    indexer = Indexer(runtime)
    indexer.create_indices(catalog.name)
    outcomes = indexer.index_bundles(catalog.name, source, [fqid], deleted=deleted)
    verb = 'Deleted' if deleted else 'Indexed'
    summary = ', '.join(f'{t}: {o.written} written, {o.deleted} removed'
                        for t, o in outcomes.items())
    print(f'{verb} bundle {fqid.uuid} version {fqid.version} from {source}: {summary}')
    return 0


def _find_source(runtime, catalog, fqid) -> str:
    repository = runtime.repository_plugin(catalog)
    for source in catalog.sources:
        if fqid in repository.list_bundles(source, fqid.uuid[:1]).bundles:
            return source
    raise AzulError(f'Bundle {fqid.uuid} version {fqid.version} is in none of the sources '
                    f'of catalog {catalog.name!r}; pass --source')


def cmd_index_bundle(args) -> int:
    """Index one bundle (add or update)."""
    return _bundle_command(args, deleted=False)


def cmd_delete_bundle(args) -> int:
    """Remove one bundle's contributions from the index."""
    return _bundle_command(args, deleted=True)


def cmd_synth(args) -> int:
    """Generate a synthetic catalog of HCA bundles, or of AnVIL ones with --atlas anvil."""
    from tqdm import tqdm

    # Each atlas counts its catalog in its own unit: refuse the other's rather
    # than guess what was meant
    if args.atlas == 'anvil':
        if args.bundles is not None or args.restrict_every:
            print('azul synth: --atlas anvil takes --biosamples, not --bundles or '
                  '--restrict-every', file=sys.stderr)
            return 2
        if args.biosamples is None:
            print('azul synth: --atlas anvil needs --biosamples', file=sys.stderr)
            return 2
        from azul_dev.synth.anvil import generate_anvil
        with tqdm(total=args.biosamples, desc='generating', unit='biosample',
                  file=sys.stderr, disable=args.quiet) as bar:
            anvil = generate_anvil(args.biosamples, Path(args.out), seed=args.seed,
                                   progress=bar.update)
        print(f'Wrote {anvil.bundles} AnVIL bundle(s) ({anvil.primary_bundles} primary, '
              f'{anvil.supplementary_bundles} supplementary, {anvil.duos_bundles} DUOS) with '
              f'{anvil.files + anvil.supplementary_files} file(s) of {anvil.biosamples} '
              f'biosample(s) of {anvil.donors} donor(s) in {anvil.datasets} dataset(s) '
              f'to {args.out}')
        return 0
    if args.biosamples is not None:
        print('azul synth: --biosamples is for --atlas anvil; HCA takes --bundles',
              file=sys.stderr)
        return 2
    if args.bundles is None:
        print('azul synth: --bundles is required', file=sys.stderr)
        return 2
    from azul_dev.synth import generate
    with tqdm(total=args.bundles, desc='generating', unit='bundle', file=sys.stderr,
              disable=args.quiet) as bar:
        stats = generate(args.bundles, Path(args.out), seed=args.seed, progress=bar.update,
                         restrict_every=args.restrict_every)
    print(f'Wrote {stats.bundles} bundle(s) with {stats.files} file(s) in {stats.projects} '
          f'project(s) to {args.out} ({stats.updated} updated, {stats.deleted} deleted)')
    return 0


def unsigned_warning(config: Config, host: str) -> str | None:
    """
    The warning for serving on a host other than loopback without a key: the
    indexer then refuses every notification (see azul.indexer.access).
    """
    import socket

    from azul.indexer.access import is_loopback_address
    if config.indexer_hmac_key is not None or is_loopback_address(host):
        return None
    try:
        # The server decides by the address it binds (a name may resolve to loopback)
        if host and is_loopback_address(socket.gethostbyname(host)):
            return None
    except OSError:
        pass
    return (f'warning: serving on {host or "every interface"!r}, not a loopback address, '
            f'without AZUL_INDEXER_HMAC_KEY: the indexer routes (POST /{{catalog}}/add|delete) '
            f'refuse every notification there. Set AZUL_INDEXER_HMAC_KEY and sign '
            f'notifications (see the README) to index over the network; the service API is '
            f'open to anyone who can reach this address.')


def cmd_serve(args) -> int:
    """Serve the service and indexer APIs of every configured catalog."""
    from azul.adapters.server import serve
    warning = unsigned_warning(args.config, args.host or args.config.host)
    if warning is not None:
        print(f'azul serve: {warning}', file=sys.stderr)
    return serve(args.config, host=args.host, port=args.port)


def cmd_run(args) -> int:
    """Set up a demo catalog, index it and serve (what `make run` does)."""
    from azul.adapters.demo import run
    warning = unsigned_warning(args.config, args.config.host)
    if warning is not None:
        print(f'azul run: {warning}', file=sys.stderr)
    return run(args.config, port=args.port)


def cmd_openapi(args) -> int:
    """Print (or write) the service's OpenAPI document, as committed for a `dcp` catalog."""
    from azul.service.openapi import canonical_document, dumps
    document = dumps(canonical_document())
    if args.write:
        path = Path(envfiles.project_root()) / 'lambdas' / 'service' / 'openapi.json'
        path.write_text(document)
        print(f'Wrote {path}')
    else:
        sys.stdout.write(document)
    return 0


def cmd_manifest(args) -> int:
    """Write the manifest of a catalog's files matching the filters to a file."""
    import json

    from azul.adapters.progress import manifest_with_progress
    runtime = _runtime(args)
    catalog = runtime.catalog(args.catalog)
    try:
        filters = json.loads(args.filters)
    except ValueError:
        raise ConfigError('--filters is not valid JSON') from None
    path = manifest_with_progress(runtime, catalog.name, filters, args.format,
                                  Path(args.out), quiet=args.quiet)
    print(f'Wrote {path}')
    return 0


def cmd_indices(args) -> int:
    """
    Create the indices of every catalog (or one), or delete them; without
    --catalog `delete` drops every index of the deployment, also those of
    catalogs no longer configured.
    """
    from azul.indexer.index import Indexer
    runtime = _runtime(args)
    names = ([runtime.catalog(args.catalog).name] if args.catalog
             else [c.name for c in runtime.config.catalogs])
    if args.action == 'create':
        indexer = Indexer(runtime)
        for name in names:
            indexer.create_indices(name)
            print(f'Created the indices of catalog {name!r}')
    elif args.catalog:
        runtime.backend.delete_indices(names[0])
        print(f'Deleted the indices of catalog {names[0]!r}')
    else:
        runtime.backend.drop_deployment()
        print(f'Deleted every index of deployment {runtime.config.deployment!r}')
    return 0


def cmd_queues(args) -> int:
    """
    The queues between indexer stages and their fail queues: counts, the
    failed messages as JSON lines, or move them back (after a fix) or drop them.
    """
    import json

    from azul.indexer.queue import QUEUES
    runtime = _runtime(args)
    queue = runtime.queue
    names = [args.queue] if args.queue else list(QUEUES)
    if args.action == 'list':
        counts = queue.counts()
        for name in names:
            c = counts.get(name, {'queued': 0, 'failed': 0})
            print(f'{name}: {c["queued"]} queued, {c["failed"]} failed')
    elif args.action == 'dump':
        for name in names:
            for body in queue.failed(name, args.limit):
                print(json.dumps({'queue': name, 'body': body}))
    else:
        operation = queue.redrive if args.action == 'redrive' else queue.purge_failed
        for name in names:
            n = operation(name)
            verb = 'moved back to' if args.action == 'redrive' else 'dropped from'
            print(f'{name}: {n} failed message(s) {verb} the queue')
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='azul', description='Index and search genomic '
                                                              'metadata (HCA, AnVIL).')
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('-q', '--quiet', action='store_true', help='no progress bars')
    sub = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')

    def add(name, func, help_text):
        p = sub.add_parser(name, help=help_text, description=func.__doc__, parents=[common])
        p.set_defaults(func=func)
        return p

    add('config', cmd_config, 'print the effective settings (secrets masked)')
    p = add('reindex', cmd_reindex, 'index all bundles of a catalog into new indices and switch '
                                    'its readers to them when done')
    p.add_argument('--catalog', help='catalog name (default: the first catalog)')
    p.add_argument('--source', action='append', metavar='SPEC',
                   help='index only this source (repeatable; default: all of the catalog\'s)')
    for name, func, text in (('index-bundle', cmd_index_bundle, 'index one bundle'),
                             ('delete-bundle', cmd_delete_bundle, 'delete one bundle')):
        p = add(name, func, text)
        p.add_argument('--catalog', help='catalog name (default: the first catalog)')
        p.add_argument('--uuid', required=True, help='bundle uuid')
        p.add_argument('--version', required=True, help='bundle version')
        p.add_argument('--source', help='source spec (default: the catalog source holding it)')
    p = add('synth', cmd_synth, 'generate synthetic HCA (or AnVIL) bundles')
    p.add_argument('--atlas', choices=('hca', 'anvil'), default='hca',
                   help='atlas of the bundles (default hca)')
    p.add_argument('--bundles', type=int, help='number of distinct bundles (HCA)')
    p.add_argument('--biosamples', type=int, help='number of biosamples (AnVIL)')
    p.add_argument('--out', required=True, help='output directory')
    p.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    p.add_argument('--restrict-every', type=int, default=0, metavar='N',
                   help='write every N-th project to OUT/restricted (default 0: none)')
    p = add('serve', cmd_serve, 'serve the service and indexer APIs locally')
    p.add_argument('--host', help='interface to bind (default: AZUL_HOST)')
    p.add_argument('--port', type=int, help='port (default: AZUL_PORT)')
    p = add('run', cmd_run, 'generate and index a demo catalog, then serve it')
    p.add_argument('--port', type=int, help='port (default: AZUL_PORT)')
    p = add('indices', cmd_indices, 'create or delete the indices of the deployment')
    p.add_argument('action', choices=('create', 'delete'))
    p.add_argument('--catalog', help='one catalog (default: every catalog; `delete`: every '
                                     'index of the deployment)')
    p = add('queues', cmd_queues, 'show, dump, redrive or purge the fail queues')
    p.add_argument('action', choices=('list', 'dump', 'redrive', 'purge'),
                   help='list: counts; dump: failed messages as JSON lines; redrive: move '
                        'failed messages back for more deliveries; purge: drop them')
    p.add_argument('--queue', choices=('notifications', 'tallies'),
                   help='one queue (default: both)')
    p.add_argument('--limit', type=int, default=1000, help='messages to dump per queue')
    p = add('manifest', cmd_manifest, 'write a manifest of a catalog\'s files to a file')
    p.add_argument('--catalog', help='catalog name (default: the first catalog)')
    p.add_argument('--filters', default='{}', help='filters as JSON, as the API takes them '
                                                  '(default: {}, every file)')
    p.add_argument('--format', help='manifest format (default: the catalog\'s first, '
                                    'compact)')
    p.add_argument('--out', required=True, help='output file, or an existing directory to '
                                                'write the manifest\'s own file name into')
    p = add('openapi', cmd_openapi, 'print the OpenAPI document of the service')
    p.add_argument('--write', action='store_true', help='write lambdas/service/openapi.json')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        envfiles.load(os.environ)
        args.config = Config.from_env(os.environ)
    except (ConfigError, envfiles.EnvironmentFileError) as e:
        print(f'azul: configuration error: {e}', file=sys.stderr)
        return 2
    logging.basicConfig(level=args.config.log_level,
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    install_log_masking()
    try:
        return args.func(args)
    except AzulError as e:
        print(f'azul {args.command}: {e.message}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        message = _locked_database(e, args.config)
        if message is None:
            raise
        print(f'azul {args.command}: {message}', file=sys.stderr)
        return 1


def _locked_database(error: Exception, config: Config) -> str | None:
    """
    One line for DuckDB's refusal to open a database file another process
    holds (a running server), or None for any other error.
    """
    if type(error).__module__.lstrip('_') != 'duckdb' or type(error).__name__ != 'IOException':
        return None
    text = str(error)
    if 'lock' not in text.lower():
        return None
    pid = re.search(r'\(PID (\d+)\)', text)
    holder = f'process {pid.group(1)}' if pid else 'another process'
    return (f'the index database {config.duckdb_path} is locked by {holder}, most likely a '
            f'running `azul serve` or `make run`: stop it and retry, or index through its '
            f'API (POST /{{catalog}}/add)')


if __name__ == '__main__':
    sys.exit(main())
