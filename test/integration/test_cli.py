"""The `azul` command, in process, against the embedded backend."""
import json
import os
import re

import pytest

from azul import envfiles
from azul.adapters.cli import main
from azul_testing import FIXTURES, STAGING_SOURCE, set_staging_cli_env

SOURCE = STAGING_SOURCE


@pytest.fixture
def env(monkeypatch, tmp_path):
    set_staging_cli_env(monkeypatch, tmp_path)
    monkeypatch.setenv('AZUL_ES_AUTH', 'admin:hunter2')
    return tmp_path


def test_config_masks_secrets(env, capsys):
    assert main(['config']) == 0
    out = capsys.readouterr().out
    assert re.search(r'^AZUL_ES_AUTH +\*{8}$', out, re.MULTILINE)
    assert 'hunter2' not in out
    assert '1 catalog(s): staging (hca, 1 source(s))' in out


def test_bad_setting_exits_with_a_message(env, monkeypatch, capsys):
    monkeypatch.setenv('AZUL_PORT', 'http')
    assert main(['config']) == 2
    assert "AZUL_PORT: 'http' is not an integer" in capsys.readouterr().err


def test_reindex_then_delete_and_index_one_bundle(env, capsys):
    bundles = sorted((FIXTURES / 'hca/bundles/cans/staging').glob('*.json'))
    assert main(['reindex', '--catalog', 'staging', '-q']) == 0
    out = capsys.readouterr().out
    assert f'Indexed {len(bundles)} bundle(s) into catalog \'staging\'' in out
    # <uuid>.<version>.json
    uuid, version = bundles[0].name[:36], bundles[0].name[37:-len('.json')]
    assert main(['delete-bundle', '--catalog', 'staging', '--uuid', uuid,
                 '--version', version]) == 0
    assert 'bundles: 0 written, 1 removed' in capsys.readouterr().out
    assert main(['index-bundle', '--uuid', uuid, '--version', version]) == 0
    # deletion wins over an addition of the same version
    assert 'bundles: 0 written' in capsys.readouterr().out


def test_unknown_bundle_is_reported(env, capsys):
    assert main(['index-bundle', '--uuid', '00000000-0000-0000-0000-000000000000',
                 '--version', '2020-01-01T00:00:00.000000Z']) == 1
    assert 'is in none of the sources of catalog' in capsys.readouterr().err


def test_synth_writes_a_catalog_that_reindexes(env, monkeypatch, capsys):
    out = env / 'synth'
    assert main(['synth', '--bundles', '20', '--out', str(out), '-q']) == 0
    assert 'Wrote 20 bundle(s)' in capsys.readouterr().out
    catalogs = {'synth': {'atlas': 'hca', 'internal': False,
                          'plugins': {'metadata': {'name': 'hca'},
                                      'repository': {'name': 'canned'}},
                          'sources': [f'file://{out}/*Z.json']}}
    monkeypatch.setenv('AZUL_CATALOGS', json.dumps(catalogs))
    assert main(['reindex', '-q']) == 0
    stats = json.loads((out / 'stats.json').read_text())
    written = stats['bundles'] + stats['updated']
    assert f'Indexed {written} bundle(s) into catalog \'synth\'' in capsys.readouterr().out


def test_make_run_prints_a_notification_the_indexer_accepts(env, monkeypatch):
    from azul.adapters.demo import examples, sample_notification
    from azul.config import Config
    from azul.indexer.worker import parse_notification
    from azul.runtime import Runtime
    catalogs = json.loads(os.environ['AZUL_CATALOGS'])
    catalogs = {'demo': catalogs['staging'], **catalogs}
    monkeypatch.setenv('AZUL_CATALOGS', json.dumps(catalogs))
    envfiles.load(os.environ)
    runtime = Runtime(Config.from_env(os.environ))
    catalog, body = sample_notification(runtime)
    assert catalog == 'staging'
    message = parse_notification(runtime, catalog, 'add', body)
    assert message['source'] == SOURCE
    assert f"-d '{json.dumps(body)}'" in examples('http://x', 'demo', (catalog, body))


def test_manifest_command(env, capsys):
    assert main(['reindex', '--catalog', 'staging', '-q']) == 0
    capsys.readouterr()
    out = env / 'files.tsv'
    assert main(['manifest', '--catalog', 'staging', '--out', str(out), '-q']) == 0
    assert capsys.readouterr().out.strip() == f'Wrote {out}'
    rows = out.read_text().splitlines()
    assert rows[0].split('\t')[:4] == ['source_id', 'source_spec', 'bundle_uuid',
                                       'bundle_version']
    # One row per data file of the staging bundles (none has a zarr store):
    # the `manifest` entries of the fixture files, read here as plain JSON
    bundles = sorted((FIXTURES / 'hca/bundles/cans/staging').glob('*.json'))
    files = {name for path in bundles for name in json.loads(path.read_text())['manifest']}
    assert len(rows) - 1 == len(files)
    assert {row.split('\t')[2] for row in rows[1:]} <= {p.name[:36] for p in bundles}
    # Into a directory: the manifest's own file name; filters narrow it down
    filters = json.dumps({'fileFormat': {'is': ['fastq.gz']}})
    assert main(['manifest', '--catalog', 'staging', '--filters', filters, '--format', 'curl',
                 '--out', str(env), '-q']) == 0
    written = capsys.readouterr().out.strip().removeprefix('Wrote ')
    assert written.startswith(str(env / 'hca-manifest-')) and written.endswith('.curlrc')
    text = open(written).read()
    assert text.startswith('--http1.1\n\n--create-dirs')
    assert all(line.endswith('.fastq.gz"') for line in text.splitlines()
               if line.startswith('output='))
    # Bad input: one line naming the problem, nothing written
    assert main(['manifest', '--catalog', 'staging', '--format', 'tsv',
                 '--out', str(env / 'bad.tsv'), '-q']) == 1
    assert 'Unknown manifest format' in capsys.readouterr().err
    assert main(['manifest', '--catalog', 'staging', '--filters', '{"organ":',
                 '--out', str(env / 'bad.tsv'), '-q']) == 1
    assert '--filters is not valid JSON' in capsys.readouterr().err
    assert not (env / 'bad.tsv').exists()


def test_queues_command(env, capsys):
    from azul.config import Config
    from azul.indexer.queue import LocalQueue
    environ = dict(os.environ)
    envfiles.load(environ)
    queue = LocalQueue(Config.from_env(environ).queue_path, max_attempts=1)
    queue.send('notifications', [{'n': 1}, {'n': 2}])
    queue.send('tallies', [{'t': 1}])
    for message in queue.receive('notifications', 10):
        queue.release(message)
    queue.close()
    assert main(['queues', 'list']) == 0
    assert capsys.readouterr().out.splitlines() == ['notifications: 0 queued, 2 failed',
                                                   'tallies: 1 queued, 0 failed']
    assert main(['queues', 'dump', '--queue', 'notifications', '--limit', '1']) == 0
    assert capsys.readouterr().out.splitlines() == [
        '{"queue": "notifications", "body": {"n": 1}}']
    assert main(['queues', 'redrive', '--queue', 'notifications']) == 0
    assert capsys.readouterr().out.strip() == \
        'notifications: 2 failed message(s) moved back to the queue'
    assert main(['queues', 'purge']) == 0
    assert capsys.readouterr().out.splitlines() == [
        'notifications: 0 failed message(s) dropped from the queue',
        'tallies: 0 failed message(s) dropped from the queue']
    assert main(['queues', 'list']) == 0
    assert capsys.readouterr().out.splitlines() == ['notifications: 2 queued, 0 failed',
                                                   'tallies: 1 queued, 0 failed']


def test_indices_command(env, capsys):
    import duckdb

    def tables() -> set[str]:
        # The CLI ran against the embedded backend of `env`; each command closes it
        with duckdb.connect(os.environ['AZUL_DUCKDB_PATH'], read_only=True) as db:
            rows = db.execute('SELECT table_name FROM duckdb_tables()').fetchall()
        return {row[0] for row in rows}

    assert main(['indices', 'create']) == 0
    assert "Created the indices of catalog 'staging'" in capsys.readouterr().out
    created = {t for t in tables() if 'staging' in t}
    # An aggregate and a contribution index per HCA entity type, at least
    assert any('files' in t for t in created) and any('projects' in t for t in created)
    assert main(['indices', 'delete', '--catalog', 'staging']) == 0
    assert "Deleted the indices of catalog 'staging'" in capsys.readouterr().out
    assert not {t for t in tables() if 'staging' in t}
    assert main(['indices', 'create']) == 0
    assert main(['indices', 'delete']) == 0
    assert "Deleted every index of deployment" in capsys.readouterr().out
    assert not {t for t in tables() if 'staging' in t}
    assert main(['indices', 'create', '--catalog', 'nosuch']) != 0
