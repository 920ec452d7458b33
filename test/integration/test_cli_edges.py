"""The `azul` command at its edges: a locked database, serving off loopback without a key."""
import subprocess
import sys

import pytest

from azul.adapters import server
from azul.adapters.cli import main
from azul_testing import STAGING_SOURCE, set_staging_cli_env

SOURCE = STAGING_SOURCE


@pytest.fixture
def env(monkeypatch, tmp_path):
    set_staging_cli_env(monkeypatch, tmp_path)
    monkeypatch.setenv('AZUL_HOST', '127.0.0.1')
    monkeypatch.delenv('AZUL_INDEXER_HMAC_KEY', raising=False)
    return tmp_path


def test_reindex_of_a_locked_database_says_so_in_one_line(env, capsys):
    # Another process (a running server) holds the database file
    path = env / 'index.duckdb'
    holder = subprocess.Popen([sys.executable, '-c',
                               'import duckdb, sys; c = duckdb.connect(sys.argv[1]); '
                               'print("ready", flush=True); sys.stdin.read()', str(path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == 'ready\n'
        for command in (['reindex', '-q'],
                        ['index-bundle', '--uuid', '00000000-0000-0000-0000-000000000000',
                         '--version', '2020-01-01T00:00:00.000000Z', '--source', SOURCE]):
            assert main(command) == 1
            err = capsys.readouterr().err
            assert err == (f'azul {command[0]}: the index database {path} is locked by process '
                           f'{holder.pid}, most likely a running `azul serve` or `make run`: '
                           f'stop it and retry, or index through its API '
                           f'(POST /{{catalog}}/add)\n')
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_other_errors_are_not_taken_for_a_lock(env, monkeypatch):
    import duckdb

    from azul.adapters import progress

    def fail(*_args, **_kwargs):
        raise duckdb.IOException('IO Error: No space left on device')

    monkeypatch.setattr(progress, 'reindex_with_progress', fail)
    with pytest.raises(duckdb.IOException):
        main(['reindex', '-q'])


@pytest.mark.parametrize('argv, host_env, key, warned', [
    (['serve', '--host', '0.0.0.0'], '127.0.0.1', None, '0.0.0.0'),
    (['serve'], '0.0.0.0', None, '0.0.0.0'),
    (['serve', '--host', '0.0.0.0'], '127.0.0.1', 'k3y', None),
    (['serve', '--host', '127.0.0.1'], '0.0.0.0', None, None),
    (['serve', '--host', 'localhost'], '0.0.0.0', None, None),
    (['serve'], '::1', None, None),
])
def test_serving_off_loopback_without_a_key_warns(env, monkeypatch, capsys, argv, host_env, key,
                                                  warned):
    monkeypatch.setenv('AZUL_HOST', host_env)
    if key is not None:
        monkeypatch.setenv('AZUL_INDEXER_HMAC_KEY', key)
    served = []
    monkeypatch.setattr(server, 'serve', lambda config, host, port: served.append(host) or 0)
    assert main(argv) == 0
    assert len(served) == 1
    err = capsys.readouterr().err
    if warned is None:
        assert err == ''
    else:
        assert err == (f"azul serve: warning: serving on '{warned}', not a loopback address, "
                       f"without AZUL_INDEXER_HMAC_KEY: the indexer routes "
                       f"(POST /{{catalog}}/add|delete) refuse every notification there. Set "
                       f"AZUL_INDEXER_HMAC_KEY and sign notifications (see the README) to index "
                       f"over the network; the service API is open to anyone who can reach "
                       f"this address.\n")
