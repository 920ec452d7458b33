"""
The preset dictionaries of a DuckDB file's packed aggregate documents: one
per table, chosen from its first batch and stored in the file; documents
packed before (without one) still read; a dictionary missing from the file
is a clear error; a reindex into a new generation brings its own, and
readers of the old generation find theirs across the switch.
"""
import zlib

import attrs
import orjson
import pytest

from azul.backends.base import AggregateWrite
from azul.backends.duckdb import DuckDBBackend
from azul.backends.duckdb.packed import unpack
from azul.core.filters import Filters
from azul.core.search import SearchRequest, Sort
from azul.errors import AzulError
from azul_dev import benchdata

CATALOG = 'cat'
TYPE = benchdata.ENTITY_TYPE


def _write(backend, docs) -> None:
    writes = [AggregateWrite(d.entity_id, d, None) for d in docs]
    assert backend.write_aggregates(CATALOG, TYPE, writes) == []


def _stored(backend) -> dict[str, bytes]:
    table = backend._table(CATALOG, TYPE)
    return dict(backend._cursor().execute(
        f'SELECT entity_id, document FROM {table.table}').fetchall())


def _zdicts(backend) -> list[tuple[int, str, bytes]]:
    return backend._cursor().execute(
        f'SELECT id, table_name, dictionary FROM {backend._zdicts.table} ORDER BY table_name'
    ).fetchall()


def _all_read(backend, docs) -> None:
    """Every reader of documents: lookups, reads of versions, scans, search hits."""
    expected = {d.entity_id: d.aggregate.to_json() for d in docs}
    ids = sorted(expected)
    for entity_id in ids[::23]:
        assert backend.get_aggregate(CATALOG, TYPE, entity_id) == expected[entity_id]
    read = backend.read_aggregates(CATALOG, TYPE, ids)
    assert {k: v.aggregate.to_json() for k, v in read.items()} == expected
    assert list(backend.scan(CATALOG, TYPE, Filters(()))) == [expected[k] for k in ids]
    reg = benchdata.registry()
    request = SearchRequest(TYPE, Filters(()), Sort(reg['fileName']), 50)
    hits = backend.search(CATALOG, request).hits
    assert len(hits) == 50
    assert all(hit.document == expected[hit.entity_id] for hit in hits)


def test_documents_packed_with_the_tables_dictionary(tmp_path):
    docs = list(benchdata.generate(300))
    backend = DuckDBBackend(tmp_path / 'index.duckdb', 'azul', 'zd')
    try:
        backend.create_indices(CATALOG, [TYPE], benchdata.registry())
        _write(backend, docs[:200])
        _write(backend, docs[200:])
        [(zdict_id, table_name, zdict)] = _zdicts(backend)
        assert table_name == backend._table(CATALOG, TYPE).name
        assert zlib.adler32(zdict) == zdict_id
        # The last documents of the first batch, the last one last
        assert zdict.endswith(orjson.dumps(docs[199].aggregate.to_json()))
        assert orjson.dumps(docs[200].aggregate.to_json()) not in zdict
        stored = _stored(backend)
        # Every document, the second batch's too, names the dictionary
        assert {d[1] & 0x20 and int.from_bytes(d[2:6], 'big') for d in stored.values()} == {
            zdict_id}
        # A third of what the dictionary-less format takes, or less
        plain = sum(len(zlib.compress(orjson.dumps(d.aggregate.to_json()), 3))
                    for d in docs[200:])
        assert sum(len(stored[d.entity_id]) for d in docs[200:]) < plain / 3
        _all_read(backend, docs)
        # An update of a document: packed with the same dictionary
        update = attrs.evolve(docs[5], aggregate=attrs.evolve(
            docs[5].aggregate, contents={**docs[5].aggregate.contents, 'note': ['updated']}))
        [(version,)] = backend._cursor().execute(
            f'SELECT doc FROM {backend._table(CATALOG, TYPE).table} WHERE entity_id = ?',
            [docs[5].entity_id]).fetchall()
        assert backend.write_aggregates(CATALOG, TYPE, [
            AggregateWrite(docs[5].entity_id, update, version)]) == []
        assert backend.get_aggregate(CATALOG, TYPE, docs[5].entity_id) == \
            update.aggregate.to_json()
        assert len(_zdicts(backend)) == 1
    finally:
        backend.close()
    # Another connection, whose cache is empty, reads them too
    backend = DuckDBBackend(tmp_path / 'index.duckdb', 'azul', 'zd')
    try:
        _all_read(backend, [update if d.entity_id == docs[5].entity_id else d for d in docs])
    finally:
        backend.close()


def test_documents_packed_before_dictionaries(tmp_path):
    docs = list(benchdata.generate(150))
    path = tmp_path / 'index.duckdb'
    backend = DuckDBBackend(path, 'azul', 'zd')
    try:
        backend.create_indices(CATALOG, [TYPE], benchdata.registry())
        _write(backend, docs[:100])
        table = backend._table(CATALOG, TYPE)
        # As the eighth session packed them (plain zlib, level 3), in a file
        # without a table of dictionaries
        con = backend._con
        con.execute(f'UPDATE {table.table} SET document = t.document FROM '
                    f'(SELECT unnest(?::VARCHAR[]) AS id, unnest(?::BLOB[]) AS document) t '
                    f'WHERE entity_id = t.id',
                    [[d.entity_id for d in docs[:100]],
                     [zlib.compress(orjson.dumps(d.aggregate.to_json()), 3)
                      for d in docs[:100]]])
        con.execute(f'DROP TABLE {backend._zdicts.table}')
    finally:
        backend.close()
    backend = DuckDBBackend(path, 'azul', 'zd')
    try:
        assert _zdicts(backend) == []
        assert all(not d[1] & 0x20 for d in _stored(backend).values())
        _all_read(backend, docs[:100])
        # The table's next batch chooses its dictionary; both kinds read
        _write(backend, docs[100:])
        [(zdict_id, _, _)] = _zdicts(backend)
        stored = _stored(backend)
        assert all(not stored[d.entity_id][1] & 0x20 for d in docs[:100])
        assert all(int.from_bytes(stored[d.entity_id][2:6], 'big') == zdict_id
                   for d in docs[100:])
        _all_read(backend, docs)
    finally:
        backend.close()


def test_a_missing_dictionary_fails_clearly(tmp_path):
    docs = list(benchdata.generate(60))
    path = tmp_path / 'index.duckdb'
    backend = DuckDBBackend(path, 'azul', 'zd')
    try:
        backend.create_indices(CATALOG, [TYPE], benchdata.registry())
        _write(backend, docs)
        [(zdict_id, _, _)] = _zdicts(backend)
        backend._cursor().execute(f'DELETE FROM {backend._zdicts.table}')
    finally:
        backend.close()
    backend = DuckDBBackend(path, 'azul', 'zd')
    message = f'names zlib dictionary {zdict_id:#010x}, which "azul_zd__zdicts" lacks'
    try:
        with pytest.raises(AzulError, match=message):
            backend.get_aggregate(CATALOG, TYPE, docs[0].entity_id)
        with pytest.raises(AzulError, match=message):
            backend.read_aggregates(CATALOG, TYPE, [docs[0].entity_id])
        with pytest.raises(AzulError, match=message):
            list(backend.scan(CATALOG, TYPE, Filters(())))
        request = SearchRequest(TYPE, Filters(()), Sort(benchdata.registry()['fileName']), 5)
        with pytest.raises(AzulError, match=message):
            backend.search(CATALOG, request)
        # A dictionary other than the one named: damaged
        backend._cursor().execute(f'INSERT INTO {backend._zdicts.table} VALUES (?, ?, ?)',
                                  [zdict_id, 'azul_zd_cat_files', b'{"other": 1}'])
        with pytest.raises(AzulError, match=f'dictionary {zdict_id:#010x} in '
                                            f'"azul_zd__zdicts" is damaged'):
            backend.get_aggregate(CATALOG, TYPE, docs[0].entity_id)
    finally:
        backend.close()


def test_generations_bring_their_own(tmp_path):
    docs = list(benchdata.generate(120))
    path = tmp_path / 'index.duckdb'
    reg = benchdata.registry()
    writer = DuckDBBackend(path, 'azul', 'zd')
    try:
        writer.create_indices(CATALOG, [TYPE], reg)
        _write(writer, docs[:60])
        [first] = _zdicts(writer)
        # The reindex writes other documents first, so another dictionary
        writer.begin_generation(CATALOG, [TYPE], reg)
        writer.load_aggregates(CATALOG, TYPE, docs[60:][::-1])
        writer.load_aggregates(CATALOG, TYPE, docs[:60])
        second = [z for z in _zdicts(writer) if z != first]
        assert len(second) == 1 and second[0][0] != first[0]
        # A reader of the old generation (another object, so its own
        # cache), which has a document in hand as the switch comes
        reader = DuckDBBackend(path, 'azul', 'zd')
        try:
            table = reader._table(CATALOG, TYPE)
            [(old,)] = reader._cursor().execute(
                f'SELECT document FROM {table.table} WHERE entity_id = ?',
                [docs[0].entity_id]).fetchall()
            writer.switch_generation(CATALOG)
            assert unpack(old, reader._zdict) == docs[0].aggregate.to_json()
            _all_read(reader, docs)
            assert sorted(_zdicts(writer)) == sorted([first, *second])
            # The next reindex's switch forgets the first generation's
            writer.begin_generation(CATALOG, [TYPE], reg)
            writer.load_aggregates(CATALOG, TYPE, docs[30:])
            writer.load_aggregates(CATALOG, TYPE, docs[:30])
            writer.switch_generation(CATALOG)
            remaining = {z[0] for z in _zdicts(writer)}
            assert first[0] not in remaining and second[0][0] in remaining
            assert len(remaining) == 2
            _all_read(reader, docs)
        finally:
            reader.close()
    finally:
        writer.close()
