"""Rows handed to DuckDB as Arrow columns (`columnar.load_columns`)."""
import uuid

import duckdb
import pytest

from azul.backends.duckdb.columnar import load_columns

COLUMNS = {
    'n': 'BIGINT', 'i': 'INTEGER', 's': 'SMALLINT', 'x': 'DOUBLE', 'b': 'BOOLEAN',
    't': 'VARCHAR', 'blob': 'BLOB', 'u': 'UUID', 'codes': 'INTEGER[]', 'words': 'VARCHAR[]',
    'flags': 'BOOLEAN[]', 'longs': 'BIGINT[]', 'ranges': 'STRUCT(lo DOUBLE, hi DOUBLE)[]',
}

KEY = uuid.UUID('6f1c2a6e-95a3-4c50-8d5c-2c8a1f0e3b7d')


@pytest.fixture
def cursor():
    con = duckdb.connect()
    # In another order than the columns given, as an aggregate table's
    con.execute('CREATE TABLE t (ranges STRUCT(lo DOUBLE, hi DOUBLE)[], n BIGINT NOT NULL, '
                'i INTEGER, s SMALLINT, x DOUBLE, b BOOLEAN, t VARCHAR, blob BLOB, u UUID, '
                'codes INTEGER[] NOT NULL, words VARCHAR[] NOT NULL, flags BOOLEAN[], '
                'longs BIGINT[], extra VARCHAR)')
    yield con
    con.close()


def test_values_nulls_and_empty_lists_arrive_as_given(cursor):
    values = {
        'n': [2 ** 62, -1, 0],
        'i': [7, None, -(2 ** 31)],
        's': [None, 300, -2],
        'x': [0.5, None, -1e300],
        'b': [True, False, None],
        't': ['ä\u00e9\u4e2d', None, ''],
        'blob': [b'\x00\xff\x10', None, b''],
        'u': [str(KEY), None, str(KEY)],
        'codes': [[1, 2, 3], [], [2 ** 31 - 1]],
        'words': [['a', None, 'b'], [None], []],
        'flags': [[True, None], [], [False]],
        'longs': [[], [None, 5], [2 ** 63 - 1]],
        'ranges': [[{'lo': 1.0, 'hi': 2.5}, None], [], [{'lo': None, 'hi': 3.0}]],
    }
    load_columns(cursor, 't', COLUMNS, values, 3)
    rows = cursor.execute(f'SELECT {", ".join(COLUMNS)}, extra FROM t ORDER BY n').fetchall()
    assert rows == [
        (-1, None, 300, None, False, None, None, None, [], [None], [], [None, 5], [], None),
        (0, -(2 ** 31), -2, -1e300, None, '', b'', KEY, [2 ** 31 - 1], [], [False],
         [2 ** 63 - 1], [{'lo': None, 'hi': 3.0}], None),
        (2 ** 62, 7, None, 0.5, True, 'ä\u00e9\u4e2d', b'\x00\xff\x10', KEY, [1, 2, 3],
         ['a', None, 'b'], [True, None], [], [{'lo': 1.0, 'hi': 2.5}, None], None),
    ]


def test_no_rows_append_nothing(cursor):
    load_columns(cursor, 't', COLUMNS, {name: [] for name in COLUMNS}, 0)
    assert cursor.execute('SELECT count(*) FROM t').fetchall() == [(0,)]


def test_a_null_in_a_not_null_column_is_refused(cursor):
    values = {name: [[] if kind.endswith('[]') else None] for name, kind in COLUMNS.items()}
    with pytest.raises(duckdb.ConstraintException):
        load_columns(cursor, 't', COLUMNS, values, 1)
