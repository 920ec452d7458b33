"""The external sort behind DuckDB's scan: key order whatever the run size."""
import os

import pytest

from azul.external_sort import sort_by_key

ROWS = [('c', '{"n":3}'), ('a', '{"n":1}'), ('e', '{"n":5}'), ('b', '{"n":2}'),
        ('d', '{"n":4}')]
EXPECTED = ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}', '{"n":5}']


@pytest.mark.parametrize('run_bytes', [1, 250, 10 ** 6])
def test_order_with_and_without_spilling(run_bytes, tmp_path):
    assert list(sort_by_key(ROWS, run_bytes, str(tmp_path))) == EXPECTED
    # Spilled runs are unlinked at once: nothing stays behind
    assert os.listdir(tmp_path) == []


def test_values_keep_tabs_and_escapes(tmp_path):
    rows = [('b', '{"s":"a\\tb"}'), ('a', '{"s":"x\\ny\tz"}')]
    assert list(sort_by_key(rows, 1, str(tmp_path))) == ['{"s":"x\\ny\tz"}', '{"s":"a\\tb"}']


def test_refuses_what_it_cannot_spill():
    with pytest.raises(ValueError):
        list(sort_by_key([('a\tb', '{}')]))
    with pytest.raises(ValueError):
        list(sort_by_key([('a', '{\n}')]))


def test_abandoned_merge_closes_its_runs(tmp_path):
    sorted_values = sort_by_key(ROWS, 1, str(tmp_path))
    assert next(sorted_values) == EXPECTED[0]
    sorted_values.close()
    assert os.listdir(tmp_path) == []
