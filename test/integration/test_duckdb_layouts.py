"""
DuckDB files written before the counts table kept per-term sums, before
the single code columns, before documents were compressed one by one,
before the string sort columns' prefix columns, and before the per-facet
code columns: read and written as they were (code lists only; JSON text;
sorting by the strings; the values' lists), their answers those of the
reference, while a table of the current layout answers the same from its
kept sums, single codes, packed documents, prefixes and codes.
"""
import orjson

from azul.backends.base import AggregateWrite
from azul.backends.duckdb import DuckDBBackend, reads, sql
from azul.backends.duckdb.packed import json_text
from azul.core.filters import Filters, Is
from azul.core.search import SearchRequest, Sort, reference_search, reference_summary
from azul_dev import benchdata

CATALOG = 'cat'


def _requests(reg, docs):
    def some(name: str, k: int) -> tuple:
        # Values of the first documents, so that each filter matches some
        values = dict.fromkeys(v for d in docs for v in d.fields[name] if v is not None)
        return tuple(values)[:k]

    # Filters on keyword and boolean facets (codes), a long facet (values),
    # the null term, a value no document has, a negated term
    cases = [Filters((Is(reg['genusSpecies'], some('genusSpecies', 1)),
                      Is(reg['organ'], some('organ', 2)),
                      Is(reg['fileFormat'], some('fileFormat', 2)))),
             Filters((Is(reg['organ'], (*some('organ', 1), None)),)),
             Filters((Is(reg['organ'], (*some('organ', 1), 'no such organ')),
                      Is(reg['isIntermediate'], (False,)), Is(reg['donorCount'], (1, 2)))),
             Filters((Is(reg['organ'], some('organ', 1), negated=True),
                      Is(reg['pairedEnd'], (None, True))))]
    for filters in cases:
        for sort in (Sort(reg['fileName']), Sort(reg['fileSize'], 'desc')):
            yield SearchRequest(benchdata.ENTITY_TYPE, filters, sort, 10, facets=reg.facets)


def _answers_agree(backend, docs, reg) -> None:
    for request in _requests(reg, docs):
        result = backend.search(CATALOG, request)
        assert result == reference_search(docs, request)
        assert result.hits, request.filters  # or the filters test too little
        following = SearchRequest(request.entity_type, request.filters, request.sort, 10,
                                  facets=reg.facets, search_after=result.hits[-1].sort)
        assert backend.search(CATALOG, following) == reference_search(docs, following)
        summary = benchdata.summary_request(reg, request.filters)
        assert backend.summary(CATALOG, summary) == reference_summary(docs, summary)


def _documents_agree(backend, docs) -> None:
    """Every reader of the documents: search hits (above), lookups, scans."""
    ids = [d.entity_id for d in docs[::37]]
    expected = {d.entity_id: d.aggregate.to_json() for d in docs}
    for entity_id in ids:
        assert backend.get_aggregate(CATALOG, benchdata.ENTITY_TYPE,
                                     entity_id) == expected[entity_id]
    read = backend.read_aggregates(CATALOG, benchdata.ENTITY_TYPE, ids)
    assert {k: v.aggregate.to_json() for k, v in read.items()} == {k: expected[k] for k in ids}
    scanned = list(backend.scan(CATALOG, benchdata.ENTITY_TYPE, Filters(())))
    assert scanned == [expected[k] for k in sorted(expected)]


def _write(backend, docs) -> None:
    writes = [AggregateWrite(d.entity_id, d, None) for d in docs]
    assert backend.write_aggregates(CATALOG, benchdata.ENTITY_TYPE, writes) == []


def test_old_and_new_layouts_answer_alike(tmp_path, monkeypatch):
    reg = benchdata.registry()
    docs = list(benchdata.generate(400))
    path = tmp_path / 'index.duckdb'
    backend = DuckDBBackend(path, 'azul', 'layouts')
    backend.create_indices(CATALOG, [benchdata.ENTITY_TYPE], reg)
    # In two batches, each handed to DuckDB as Arrow columns (`columnar`)
    _write(backend, docs[:280])
    _write(backend, docs[280:300])
    table = backend._table(CATALOG, benchdata.ENTITY_TYPE)
    assert table.coded and table.packed and table.summed and table.singled
    # Compressed: shorter than the JSON text
    for doc in (docs[0], docs[299]):
        [(kind, size)] = backend._cursor().execute(
            f'SELECT typeof(document), octet_length(document) FROM {table.table} '
            f'WHERE entity_id = ?', [doc.entity_id]).fetchall()
        assert kind == 'BLOB' and size < len(orjson.dumps(doc.aggregate.to_json())) / 1.5
    used = []
    monkeypatch.setattr(sql, 'coded_facets', lambda *a, **k: used.append(1) or coded(*a, **k))
    _answers_agree(backend, docs[:300], reg)
    _documents_agree(backend, docs[:300])
    assert used
    # The layout before the per-term sums: the counts table without them
    for spec in table.summed_fields:
        backend._cursor().execute(f'ALTER TABLE {table.counts_table} DROP COLUMN {spec.sum}')
    backend.close()
    backend = DuckDBBackend(path, 'azul', 'layouts')
    table = backend._table(CATALOG, benchdata.ENTITY_TYPE)
    assert table.coded and table.packed and not table.summed
    _write(backend, docs[300:310])
    _answers_agree(backend, docs[:310], reg)
    # The layout before packed documents (JSON text) and the single code columns
    _unpack_documents(backend, table.table)
    singles = [spec for spec in table.fields if table.single_spec(spec)]
    assert singles
    for spec in singles:
        backend._cursor().execute(f'ALTER TABLE {table.table} DROP COLUMN {spec.single}')
    backend.close()
    backend = DuckDBBackend(path, 'azul', 'layouts')
    try:
        table = backend._table(CATALOG, benchdata.ENTITY_TYPE)
        assert (table.coded and table.prefixed and not table.packed and not table.summed
                and not table.singled)
        _write(backend, docs[310:320])
        used.clear()
        _answers_agree(backend, docs[:320], reg)
        _documents_agree(backend, docs[:320])
        assert used
        # The layout before the prefix columns: the same table without them
        prefixed = [spec for spec in table.fields if table.prefixed_spec(spec)]
        assert prefixed
        for spec in prefixed:
            backend._cursor().execute(f'ALTER TABLE {table.table} DROP COLUMN {spec.prefix}')
    finally:
        backend.close()
    backend = DuckDBBackend(path, 'azul', 'layouts')
    try:
        table = backend._table(CATALOG, benchdata.ENTITY_TYPE)
        assert table.coded and not table.prefixed and not table.packed
        _write(backend, docs[320:350])
        used.clear()
        _answers_agree(backend, docs[:350], reg)
        assert used
        # The layout before the code columns: without those either
        for spec in table.facets:
            backend._cursor().execute(f'ALTER TABLE {table.table} DROP COLUMN {spec.codes}')
    finally:
        backend.close()
    backend = DuckDBBackend(path, 'azul', 'layouts')
    try:
        table = backend._table(CATALOG, benchdata.ENTITY_TYPE)
        assert not table.coded and not table.prefixed and not table.packed
        _write(backend, docs[350:])
        used.clear()
        _answers_agree(backend, docs, reg)
        _documents_agree(backend, docs)
        assert not used
    finally:
        backend.close()


def test_complement_counts_answer_alike(tmp_path, monkeypatch):
    # Counting the rows that do not match, for every filter of codes alone
    # (the first, second and fourth case): the same answers
    reg = benchdata.registry()
    docs = list(benchdata.generate(300))
    backend = DuckDBBackend(tmp_path / 'index.duckdb', 'azul', 'complement')
    try:
        backend.create_indices(CATALOG, [benchdata.ENTITY_TYPE], reg)
        _write(backend, docs)
        modes = []
        monkeypatch.setattr(reads, 'COMPLEMENT_SHARE', -1.0)
        monkeypatch.setattr(sql, 'coded_facets',
                            lambda *a, **k: modes.append(a[-1]) or coded(*a, **k))
        _answers_agree(backend, docs, reg)
        assert True in modes and False in modes
    finally:
        backend.close()


def _unpack_documents(backend: DuckDBBackend, table: str) -> None:
    """The table's documents as JSON text, as tables made before packing held them."""
    con = backend._con
    rows = con.execute(f'SELECT doc, document FROM {table}').fetchall()
    con.execute(f'ALTER TABLE {table} ADD COLUMN text VARCHAR')
    con.execute(f'UPDATE {table} SET text = t.text FROM (SELECT unnest(?::BIGINT[]) AS doc, '
                f'unnest(?::VARCHAR[]) AS text) t WHERE {table}.doc = t.doc',
                [[doc for doc, _ in rows], [json_text(d, backend._zdict) for _, d in rows]])
    con.execute(f'ALTER TABLE {table} DROP COLUMN document')
    con.execute(f'ALTER TABLE {table} RENAME COLUMN text TO document')


coded = sql.coded_facets
