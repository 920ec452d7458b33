"""Closing the DuckDB backend while another thread's query runs (a server shutting down)."""
import threading
import time

from azul.backends.duckdb import DuckDBBackend


def test_close_waits_for_a_running_query(tmp_path):
    backend = DuckDBBackend(tmp_path / 'index.duckdb', 'azul', 'close')
    started = threading.Event()
    outcome = {}

    def query():
        # A cursor of its own, as a request thread has
        cursor = backend._cursor()
        started.set()
        try:
            outcome['rows'] = cursor.execute('SELECT count(*) FROM range(300000000)').fetchall()
        except Exception as e:  # interrupted by the close: fine, as long as close returns
            outcome['error'] = e

    thread = threading.Thread(target=query)
    thread.start()
    started.wait()
    time.sleep(0.05)
    # DuckDB refuses to close a connection busy with another call; without
    # waiting for it this raised ResourceInUseException
    backend.close()
    thread.join(10)
    assert not thread.is_alive()
