"""
The DuckDB backend's SQL building, without a database file: identifiers are
validated, values only ever travel as parameters, and each filter condition
agrees with the reference `matches` (checked on an in-memory DuckDB over
literal lists, no tables involved).
"""
import itertools

import attrs
import duckdb
import pytest

from azul.backends.duckdb import sql, summaries
from azul.backends.duckdb.schema import (
    TableSpec,
    decode_term,
    element_type,
    encode_term,
    from_column,
    ident,
    sort_prefix,
    to_column,
)
from azul.core.fields import Field, FieldRegistry, FieldType
from azul.core.filters import Contains, Filters, Intersects, Is, Within, matches
from azul.core.search import Cardinality, Count, Sort, Sum, Terms
from azul.errors import ConfigError, InvalidFilterError

EVIL = "x'); DROP TABLE t; --"

FIELDS = (
    Field('name', FieldType.keyword, 'a'),
    Field('size', FieldType.long, 'b', facet=True),
    Field('ratio', FieldType.double, 'c'),
    Field('flag', FieldType.boolean, 'd', facet=True),
    Field('age', FieldType.range, 'e', facet=True),
    Field('obj', FieldType.object, 'f', sortable=False),
    Field(EVIL, FieldType.keyword, 'g', facet=True),
)
REGISTRY = FieldRegistry(FIELDS)
TABLE = TableSpec.of('azul_dev_cat_files_aggregate', REGISTRY)


@pytest.mark.parametrize('name', ['Azul', 'a"b', "a'b", 'a;b', 'a b', '', '1abc', 'a.b'])
def test_ident_rejects(name):
    with pytest.raises(ConfigError):
        ident(name)


def test_ident_quotes():
    assert ident('azul_dev-1_cat_files_aggregate') == '"azul_dev-1_cat_files_aggregate"'


def test_field_names_and_values_never_reach_sql():
    evil = REGISTRY[EVIL]
    filters = Filters((Is(evil, (EVIL,)), Is(REGISTRY['name'], (EVIL, None))))
    queries = [sql.where(TABLE, filters), sql.count(TABLE, filters),
               sql.page(TABLE, filters, Sort(evil), 10, search_after=(EVIL, EVIL)),
               sql.facets(TABLE, filters, TABLE.facets[:1], [TABLE.spec(evil)]),
               sql.facets(TABLE, filters, TABLE.facets[:1], [TABLE.spec(evil)],
                          sql.PageSpec(Sort(evil), 10, search_before=(EVIL, EVIL))),
               sql.rows(TABLE, sql.PageSpec(Sort(evil), 10), [1, 2]),
               summaries.summary(TABLE, filters, summaries.SummarySpec.of(TABLE, (
                   Count('n'), Sum('s', REGISTRY['size']), Cardinality('c', evil),
                   Terms('t', evil, sums=(REGISTRY['size'],), distinct=(evil,))))),
               sql.scan(TABLE, filters)]
    for query in queries:
        assert 'DROP' not in query.text
        assert query.text.count('?') == len(query.params)
    assert EVIL in sql.where(TABLE, filters).params


def test_unknown_or_mistyped_field():
    with pytest.raises(InvalidFilterError):
        TABLE.spec(Field('nope', FieldType.keyword, 'x'))
    with pytest.raises(InvalidFilterError):
        TABLE.spec(Field('size', FieldType.keyword, 'b'))


def test_not_sortable():
    with pytest.raises(InvalidFilterError):
        sql.page(TABLE, Filters(), Sort(REGISTRY['obj']), 10)


def test_relation_not_allowed():
    with pytest.raises(InvalidFilterError):
        sql.term_condition(TABLE.spec(REGISTRY['name']), Within(REGISTRY['name'], ((1, 2),)))


def test_empty_is_matches_nothing():
    assert sql.term_condition(TABLE.spec(REGISTRY['name']), Is(REGISTRY['name'], ())).text \
        == '(FALSE)'


def test_search_before_reverses_order():
    after = sql.page(TABLE, Filters(), Sort(REGISTRY['size'], 'asc'), 5, search_after=(3, 'e'))
    before = sql.page(TABLE, Filters(), Sort(REGISTRY['size'], 'asc'), 5, search_before=(3, 'e'))
    assert 'ASC NULLS LAST, entity_id ASC' in after.text
    assert 'DESC NULLS FIRST, entity_id DESC' in before.text
    # Cursor values and the page size are parameters, in order: the value
    # once for the test on the sort column alone, twice for the cursor's own
    assert after.params == (3, 3, 3, 'e', 5)
    assert '(lo1 >= ?::BIGINT OR lo1 IS NULL)' in after.text
    assert 'lo1 <= ?::BIGINT' in before.text


def test_facets_evaluate_each_filter_once():
    filters = Filters((Is(REGISTRY['size'], (17,)), Is(REGISTRY['flag'], (True,))))
    # One statement evaluates each filter once, whatever the facets
    facets = [TABLE.spec(REGISTRY[name]) for name in ('size', 'flag', 'age')]
    assert sql.facets(TABLE, filters, facets[2:], facets[:2]).params == (17, True)


def test_own_facets_add_the_rows_failing_their_own_filter_only():
    size, flag, age = (TABLE.spec(REGISTRY[name]) for name in ('size', 'flag', 'age'))
    filters = Filters((Is(REGISTRY['size'], (17,)), Is(REGISTRY['flag'], (True,))))
    text = sql.facets(TABLE, filters, [age], [size, flag]).text
    # The codes of the rows passing both filters count for all three facets
    assert f'WHERE t.field IN ({age.id}, {size.id}, {flag.id})' in text
    # Rows failing one filter are kept, and count for that filter's facet only
    assert '>= 1)' in text
    assert f'unnest({size.values}) AS v FROM m WHERE NOT g0' in text
    assert f'unnest({flag.values}) AS v FROM m WHERE NOT g1' in text
    # Without own facets only the rows passing every filter are kept
    assert '>= 2)' in sql.facets(TABLE, filters, [age, size], []).text


def test_the_own_facet_of_a_single_filter_reads_the_counts():
    size, age = (TABLE.spec(REGISTRY[name]) for name in ('size', 'age'))
    filters = Filters((Is(REGISTRY['size'], (17,)),))
    text = sql.facets(TABLE, filters, [age], [size]).text
    assert TABLE.counts_table in text and f'WHERE c.field IN ({size.id})' in text
    assert f'WHERE t.field IN ({age.id})' in text
    assert f'unnest({size.values})' not in text and '>= 1)' in text


def test_facets_carry_the_page():
    # The page's cursor and size follow the filters' parameters, in the order of the text
    filters = Filters((Is(REGISTRY['size'], (17,)),))
    page = sql.PageSpec(Sort(REGISTRY['ratio'], 'desc'), 7, search_after=(0.5, 'e'))
    query = sql.facets(TABLE, filters, TABLE.facets, [], page)
    assert query.params == (17, 0.5, 0.5, 0.5, 'e', 7)
    # Descending is the reverse of ascending: nulls first, ids descending
    assert 'lo2 DESC NULLS FIRST, entity_id DESC' in query.text
    assert sql.facets(TABLE, filters, TABLE.facets, []).params == (17,)


def test_unfiltered_facets_read_counts():
    query = sql.all_facets(TABLE, TABLE.facets)
    assert TABLE.counts_table in query.text and query.params == ()


SAMPLES = {
    FieldType.keyword: ['a', 'b', ''],
    FieldType.long: [-1, 0, 5],
    FieldType.double: [-0.5, 0.0, 2.25],
    FieldType.boolean: [True, False],
    FieldType.object: ['{"a":1}', '{"b":2}'],
    FieldType.range: [(0.0, 10.0), (5.0, 6.0), (-3.0, -1.0)],
}
PROBES = [(0.0, 0.0), (5.0, 6.0), (-1.0, 5.0), (-10.0, 100.0), (7.0, 7.0), (11.0, 12.0)]


def _projections(kind: FieldType):
    values = SAMPLES[kind]
    for n in range(3):
        for combo in itertools.combinations([*values, None], n):
            yield combo or (None,)


def _terms(field: Field):
    values = SAMPLES[field.type]
    for n in (0, 1, 2):
        for combo in itertools.combinations([*values, None], n):
            yield Is(field, combo)
    relations = {'within': Within, 'contains': Contains, 'intersects': Intersects}
    for name, cls in relations.items():
        if name in field.type.relations:
            for probe in PROBES:
                yield cls(field, (probe,))
            yield cls(field, tuple(PROBES[:3]))


@pytest.mark.parametrize('field', [f for f in FIELDS if f.name != EVIL],
                         ids=lambda f: f.type.value)
def test_conditions_agree_with_matches(field):
    spec = TABLE.spec(field)
    con = duckdb.connect()
    kind = element_type(field.type)
    checked = 0
    for projection in _projections(field.type):
        for term in _terms(field):
            condition = sql.term_condition(spec, term)
            # Positional parameters number in textual order: the condition's come first
            query = f'SELECT {condition.text} FROM (SELECT ?::{kind}[] AS {spec.values})'
            params = [*condition.params, to_column(field, projection)]
            [(actual,)] = con.execute(query, params).fetchall()
            assert actual is matches(term, projection), (term, projection)
            checked += 1
    assert checked >= 40


@pytest.mark.parametrize('field', [f for f in FIELDS if f.name != EVIL],
                         ids=lambda f: f.type.value)
def test_values_round_trip(field):
    for value in SAMPLES[field.type]:
        assert decode_term(field, encode_term(value)) == value
        assert from_column(field, to_column(field, [value])[0]) == value
    assert to_column(field, [None]) == [None]


@pytest.mark.parametrize('order, kwargs, order_by, condition', [
    # Checked by hand against the original's order: descending is the exact
    # reverse of ascending (nulls first, ids descending), by the smallest value
    ('desc', {}, 'lo1 DESC NULLS FIRST, entity_id DESC', 'TRUE'),
    ('desc', {'search_after': (3, 'e')}, 'lo1 DESC NULLS FIRST, entity_id DESC',
     '(lo1 < ?::BIGINT OR (lo1 = ?::BIGINT AND entity_id < ?))'),
    ('desc', {'search_after': (None, 'e')}, 'lo1 DESC NULLS FIRST, entity_id DESC',
     '(lo1 IS NOT NULL OR entity_id < ?)'),
    ('desc', {'search_before': (3, 'e')}, 'lo1 ASC NULLS LAST, entity_id ASC',
     '(lo1 > ?::BIGINT OR (lo1 = ?::BIGINT AND entity_id > ?) OR lo1 IS NULL)'),
    ('desc', {'search_before': (None, 'e')}, 'lo1 ASC NULLS LAST, entity_id ASC',
     '(lo1 IS NULL AND entity_id > ?)'),
    ('asc', {'search_after': (None, 'e')}, 'lo1 ASC NULLS LAST, entity_id ASC',
     '(lo1 IS NULL AND entity_id > ?)'),
])
def test_page_order_and_cursor(order, kwargs, order_by, condition):
    page = sql.PageSpec(Sort(REGISTRY['size'], order), 5, **kwargs)
    assert page.order(TABLE) == order_by
    assert page.cursor_condition(TABLE).text == condition


def test_cardinality_may_count_the_null_term():
    filters = Filters((Is(REGISTRY['size'], (1,)),))

    def text(count_null: bool) -> str:
        spec = summaries.SummarySpec.of(TABLE, (Cardinality('c', REGISTRY['name'], count_null),))
        return summaries.summary(TABLE, filters, spec).text

    assert 'bool_or(v IS NULL)' not in text(False)
    assert 'bool_or(v IS NULL)' in text(True)


def test_summary_evaluates_the_filters_once():
    filters = Filters((Is(REGISTRY['size'], (17,)), Is(REGISTRY['flag'], (True,))))
    aggregations = (Count('n'), Sum('total', REGISTRY['ratio']),
                    Cardinality('sizes', REGISTRY['size']),
                    Terms('by_flag', REGISTRY['flag'], sums=(REGISTRY['size'],),
                          distinct=(REGISTRY['name'],)))
    query = summaries.summary(TABLE, filters, summaries.SummarySpec.of(TABLE, aggregations))
    assert query.params == (17, True)
    assert query.text.count('list_contains') == 2
    # Without filters no rows are materialized and facet cardinalities read the counts
    query = summaries.summary(TABLE, Filters(), summaries.SummarySpec.of(TABLE, aggregations))
    assert 'WITH m AS' not in query.text and TABLE.counts_table in query.text
    assert query.params == ()


def test_unfiltered_summary_reads_kept_sums():
    size, ratio, flag = REGISTRY['size'], REGISTRY['ratio'], REGISTRY['flag']
    aggregations = (Count('n'), Sum('sizes', size), Sum('ratios', ratio),
                    Terms('sizes_by_flag', flag, sums=(size,)),
                    Terms('ratios_by_flag', flag, sums=(ratio, size)))
    # The kept sums of `size` (f1, s1 in the counts table), not those of
    # `ratio` (f2); a terms aggregation summing both sums both afresh. Each
    # sum of a row names its column three times (`row_sum`), in each of the
    # two branches of rows with one flag and with several (`s3`, `k3`)
    spec = summaries.SummarySpec.of(TABLE, aggregations, kept=frozenset({1}))
    text = summaries.summary(TABLE, Filters(), spec).text
    assert text.count('f1') == 6 and text.count('f2') == 9
    assert f'(SELECT s1 FROM {TABLE.counts_table} WHERE field = -1 AND code = -1)' in text
    # The counts table's rows of the flag, joined with their keys once
    assert text.count(TABLE.counts_table) == 2
    assert text.count('s1 AS s2 FROM c WHERE field = 3') == 1
    assert text.count('unnest(k3)') == 1
    # With filters the summary sums the matching rows: each field's sum of a
    # row once, into the materialized rows, whichever aggregations sum it
    filters = Filters((Is(flag, (True,)),))
    text = summaries.summary(TABLE, filters, spec).text
    assert TABLE.counts_table not in text and text.count('f1') == 3 and text.count('f2') == 3


def test_summary_columns_number_each_aggregation():
    aggregations = (Sum('a', REGISTRY['ratio']), Count('n'),
                    Terms('t', REGISTRY['flag'], sums=(REGISTRY['size'], REGISTRY['ratio']),
                          distinct=(REGISTRY['name'],)),
                    Sum('b', REGISTRY['size']))
    spec = summaries.SummarySpec.of(TABLE, aggregations)
    assert spec.columns() == ['agg', 'n', 't2', 's0', 's4', 's1', 's2', 'd3']


def test_ranges_of_one_filter_are_anded():
    term = Within(REGISTRY['size'], ((0, 5), (3, 10)))
    query = sql.term_condition(TABLE.spec(REGISTRY['size']), term)
    assert query.text.count('list_bool_or') == 2 and ') AND coalesce(' in query.text
    assert query.params == (0.0, 5.0, 3.0, 10.0)


def test_date_within_binds_strings():
    field = Field('day', FieldType.date, 'h')
    table = TableSpec.of('azul_dev_cat_days', FieldRegistry((field,)))
    term = Within(field, (('2020-01-01T00:00:00.000000Z', '2020-12-31T23:59:59.999999Z'),))
    query = sql.term_condition(table.spec(field), term)
    assert query.params == ('2020-01-01T00:00:00.000000Z', '2020-12-31T23:59:59.999999Z')


def test_filters_on_keyword_and_boolean_facets_test_codes():
    flag, evil = TABLE.spec(REGISTRY['flag']), TABLE.spec(REGISTRY[EVIL])
    filters = Filters((Is(REGISTRY['size'], (17,)), Is(REGISTRY['flag'], (True, None)),
                       Is(REGISTRY[EVIL], ('x', 'y')), Is(REGISTRY['name'], ('n',))))
    # A number may be spelled two ways, and `name` is no facet: those test values
    assert sql.filter_keys(TABLE, filters) == [(flag.id, 'true'), (flag.id, 'null'),
                                               (evil.id, '"x"'), (evil.id, '"y"')]
    codes = {(flag.id, 'true'): 9, (evil.id, '"y"'): 4, (evil.id, '"x"'): 12}
    query = sql.where(TABLE, filters, codes)
    # Codes as literals in ascending order; the size and name values stay parameters.
    # A row with one term compares its single code, the others read their list
    assert (f'(CASE WHEN {evil.single} IS NOT NULL THEN {evil.single} IN (4, 12) '
            f'ELSE (list_contains({evil.codes}, 4) OR list_contains({evil.codes}, 12)) END)'
            in query.text)
    assert (f'(CASE WHEN {flag.single} IS NOT NULL THEN {flag.single} IN (9) '
            f'ELSE list_contains({flag.codes}, 9) END)' in query.text)
    assert query.params == (17, 'n')
    # A value without a code is in no document
    assert sql.where(TABLE, Filters((Is(REGISTRY[EVIL], ('z',)),)), codes).text == '(FALSE)'
    negated = Filters((Is(REGISTRY[EVIL], ('x',), negated=True),))
    assert sql.where(TABLE, negated, codes).text == \
        f'(NOT CASE WHEN {evil.single} IS NOT NULL THEN {evil.single} IN (12) ' \
        f'ELSE list_contains({evil.codes}, 12) END)'
    # Tables made before the single code columns read the lists only
    listed = TableSpec.of(TABLE.name, REGISTRY, singled=False)
    query = sql.where(listed, filters, codes)
    assert f'(list_contains({evil.codes}, 4) OR list_contains({evil.codes}, 12))' in query.text
    assert f'(list_contains({flag.codes}, 9))' in query.text
    assert 'CASE' not in query.text
    assert sql.where(listed, negated, codes).text == f'(NOT list_contains({evil.codes}, 12))'
    assert f'{evil.single} INTEGER' in TABLE.create_statements()[2]
    assert f'{evil.single} INTEGER' not in listed.create_statements()[2]
    # Only facets whose `is` filters test codes have one (not `size`, a long facet)
    assert [s.single for s in TABLE.fields if TABLE.single_spec(s)] == \
        [flag.single, evil.single]
    # Tables made before the code columns test values
    old = TableSpec.of(TABLE.name, REGISTRY, coded=False)
    assert sql.filter_keys(old, filters) == []
    assert f'{evil.codes} INTEGER[]' in TABLE.create_statements()[2]
    assert f'{evil.codes} INTEGER[]' not in old.create_statements()[2]


CODED = FieldRegistry((Field('name', FieldType.keyword, 'a'),
                       Field('color', FieldType.keyword, 'b', facet=True),
                       Field('shape', FieldType.keyword, 'c', facet=True),
                       Field('flag', FieldType.boolean, 'd', facet=True)))


def _coded_table() -> tuple[duckdb.DuckDBPyConnection, TableSpec]:
    """Four rows, written by hand, and their dictionary."""
    table = TableSpec.of('t', CODED)
    con = duckdb.connect()
    for statement in table.create_statements():
        con.execute(statement)
    dictionary = {(1, 'red'): 1, (1, 'blue'): 2, (1, None): 3, (2, 'round'): 4,
                  (2, 'square'): 5, (3, True): 6, (3, False): 7}
    for (field, value), code in dictionary.items():
        con.execute(f'INSERT INTO {table.terms_table} VALUES (?, ?, ?)',
                    [field, code, encode_term(value)])
    # The number of rows having each code, by hand from the rows below
    counts = {1: 2, 2: 2, 3: 1, 4: 3, 5: 2, 6: 3, 7: 1}
    for (field, _), code in dictionary.items():
        con.execute(f'INSERT INTO {table.counts_table} VALUES (?, ?, ?)',
                    [field, code, counts[code]])
    rows = [('a', ['red'], ['round'], [True]),
            ('b', ['blue'], ['round'], [False]),
            ('c', ['red', 'blue'], ['square'], [True]),
            ('d', [None], ['round', 'square'], [True])]
    for doc, (name, *values) in enumerate(rows):
        k = [[dictionary[i + 1, v] for v in vs] for i, vs in enumerate(values)]
        con.execute(f'INSERT INTO {table.table} (doc, entity_id, document, codes, f0, lo0, '
                    f'p0, f1, k1, f2, k2, f3, k3) '
                    f'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                    [doc, name, '{}', [c for ks in k for c in ks], [name], name,
                     sort_prefix(name), values[0], k[0], values[1], k[1], values[2], k[2]])
    return con, table


@pytest.mark.parametrize('complement', [False, True])
def test_coded_facets_count_as_the_reference(complement):
    con, table = _coded_table()
    color, shape, flag = (table.spec(CODED[name]) for name in ('color', 'shape', 'flag'))
    filters = Filters((Is(CODED['color'], ('red',)), Is(CODED['shape'], ('round',))))
    codes = {(color.id, '"red"'): 1, (shape.id, '"round"'): 4}
    page = sql.PageSpec(Sort(CODED['name']), 10)
    query = sql.facets(table, filters, [flag], [color, shape], page, codes, complement)
    # Counting the rows that match, or those that do not
    assert (table.counts_table in query.text) is complement
    # The filters are evaluated once, for the facets and the page
    assert query.text.count(f'list_contains({color.codes}, 1)') == 1
    rows = con.execute(query.text, query.params).fetchall()
    terms = {(f, t): n for kind, f, t, n in rows if kind == sql.FacetRow.TERM}
    scopes = {f: n for kind, f, _, n in rows if kind == sql.FacetRow.SCOPE}
    hits = [n for kind, _, _, n in rows if kind == sql.FacetRow.HIT]
    # By hand: only row a has a red color and a round shape. Ignoring its own
    # filter, color counts rows a, b, d (round) and shape rows a, c (red).
    assert scopes == {None: 1, color.id: 3, shape.id: 2}
    assert terms == {(flag.id, 'true'): 1,
                     (color.id, '"red"'): 1, (color.id, '"blue"'): 1, (color.id, 'null'): 1,
                     (shape.id, '"round"'): 1, (shape.id, '"square"'): 1}
    # The page: row a, the first row written (row id 0)
    assert hits == [0]


@pytest.mark.parametrize('complement', [False, True])
def test_coded_facets_of_three_groups(complement):
    con, table = _coded_table()
    color, shape, flag = (table.spec(CODED[name]) for name in ('color', 'shape', 'flag'))
    filters = Filters((Is(CODED['color'], ('red',)), Is(CODED['shape'], ('round',)),
                       Is(CODED['flag'], (True,))))
    codes = {(color.id, '"red"'): 1, (shape.id, '"round"'): 4, (flag.id, 'true'): 6}
    page = sql.PageSpec(Sort(CODED['name']), 10)
    query = sql.facets(table, filters, [], [color, shape, flag], page, codes, complement)
    # One aggregate counts the codes of every facet, own or not
    assert query.text.count('count(*) AS n FROM (SELECT unnest(') == (1 if not complement else 2)
    rows = con.execute(query.text, query.params).fetchall()
    terms = {(f, t): n for kind, f, t, n in rows if kind == sql.FacetRow.TERM}
    scopes = {f: n for kind, f, _, n in rows if kind == sql.FacetRow.SCOPE}
    hits = [n for kind, _, _, n in rows if kind == sql.FacetRow.HIT]
    # By hand: a passes all three; b (blue, round, false) fails two, so it
    # counts for no facet; c (red and blue, square, true) fails the shape
    # only; d (null, round and square, true) the color only. Color ignoring
    # its filter counts a and d, shape a and c, flag a.
    assert scopes == {None: 1, color.id: 2, shape.id: 2, flag.id: 1}
    assert terms == {(color.id, '"red"'): 1, (color.id, 'null'): 1,
                     (shape.id, '"round"'): 1, (shape.id, '"square"'): 1,
                     (flag.id, 'true'): 1}
    assert hits == [0]


@pytest.mark.parametrize('sort, order, cursor, expected', [
    # The rows with a true flag, by hand: a (name a, color red), c (c; blue,
    # red, so blue), d (d; null). Two a page, row ids a 0, c 2, d 3
    ('name', 'asc', {}, [0, 2]),
    ('name', 'asc', {'search_after': ('a', 'a')}, [2, 3]),
    ('name', 'desc', {}, [3, 2]),
    ('name', 'desc', {'search_after': ('d', 'd')}, [2, 0]),
    # Before d ascending: a c, nearest first
    ('name', 'asc', {'search_before': ('d', 'd')}, [2, 0]),
    # By color ascending c a d, nulls last; descending d a c
    ('color', 'asc', {}, [2, 0]),
    ('color', 'desc', {}, [3, 0]),
    # A cursor without a value: no bound
    ('color', 'desc', {'search_after': (None, 'd')}, [0, 2]),
    ('color', 'asc', {'search_after': ('red', 'a')}, [3]),
])
def test_coded_facets_page_from_the_flags(sort, order, cursor, expected):
    con, table = _coded_table()
    color, shape, flag = (table.spec(CODED[name]) for name in ('color', 'shape', 'flag'))
    # The color's sort columns, which `_coded_table` leaves empty: the smallest color
    for name, value in (('a', 'red'), ('b', 'blue'), ('c', 'blue'), ('d', None)):
        con.execute(f'UPDATE {table.table} SET {color.sort_column} = ?, {color.prefix} = ? '
                    f'WHERE entity_id = ?', [value, sort_prefix(value), name])
    filters = Filters((Is(CODED['flag'], (True,)), Is(CODED['shape'], ('round', 'square'))))
    codes = {(flag.id, 'true'): 6, (shape.id, '"round"'): 4, (shape.id, '"square"'): 5}
    page = sql.PageSpec(Sort(CODED[sort], order), 2, **cursor)
    query = sql.facets(table, filters, [color], [flag, shape], page, codes)
    rows = con.execute(query.text, query.params).fetchall()
    hits = sorted((position, n) for kind, position, _, n in rows if kind == sql.FacetRow.HIT)
    assert [n for _, n in hits] == expected


@pytest.mark.parametrize('order, cursor, bound, expected', [
    # Six rows, entity id: value e0: 1, e1: 1, e2: null, e3: 2, e4: 1, e5: 3;
    # ascending (nulls last, ids ascending) e0 e1 e4 e3 e5 e2, descending the reverse
    ('asc', None, 1, ['e0', 'e1']),
    ('asc', (1, 'e0'), 3, ['e1', 'e4']),      # after e0: e1 e4 e3 ..., strictly after 1: 2 3
    ('desc', None, 3, ['e2', 'e5']),          # nulls first: null 3
    ('desc', (2, 'e3'), 1, ['e4', 'e1']),     # after e3 descending: e4 e1 e0, below 2: 1 1
])
def test_a_bounded_page_is_the_page(order, cursor, bound, expected):
    field = Field('n', FieldType.long, 'a')
    table = TableSpec.of('t', FieldRegistry((field,)))
    con = duckdb.connect()
    for statement in table.create_statements():
        con.execute(statement)
    for i, value in enumerate([1, 1, None, 2, 1, 3]):
        con.execute(f'INSERT INTO {table.table} (doc, entity_id, document, codes, f0, lo0) '
                    f'VALUES (?, ?, ?, [], ?, ?)', [i, f'e{i}', f'"e{i}"', [value], value])
    page = sql.PageSpec(Sort(field, order), 2, search_after=cursor)
    query = sql.page_bound(table, Filters(), page)
    values = con.execute(query.text, query.params).fetchall()
    assert values[-1][0] == bound
    bounded = attrs.evolve(page, bound=bound, bounded=True)
    for spec in page, bounded:
        query = sql.page_of(table, Filters(), spec)
        assert [row[0] for row in con.execute(query.text, query.params).fetchall()] == expected
    assert bounded.bound_condition(table).text in sql.page_of(table, Filters(), bounded).text


def test_no_bound_for_a_cursor_without_a_value():
    page = sql.PageSpec(Sort(REGISTRY['size']), 2, search_after=(None, 'e'))
    assert sql.page_bound(TABLE, Filters(), page) is None


def test_coded_summary_counts_distinct_codes():
    con, table = _coded_table()
    # Sizes of the four rows a, b, c, d, by hand, in a column the table has no values for yet
    registry = FieldRegistry((*CODED, Field('size', FieldType.long, 'e')))
    table = TableSpec.of('t', registry)
    con.execute('ALTER TABLE t ADD COLUMN f4 BIGINT[]')
    for name, sizes in (('a', [1]), ('b', [2, 3]), ('c', [None]), ('d', [10])):
        con.execute('UPDATE t SET f4 = ? WHERE entity_id = ?', [sizes, name])
    size = registry['size']
    aggregations = (Count('n'), Sum('total', size), Cardinality('colors', registry['color']),
                    Terms('by_shape', registry['shape'], sums=(size,),
                          distinct=(registry['color'],)),
                    Terms('by_flag', registry['flag']))
    spec = summaries.SummarySpec.of(table, aggregations)
    # The colors of a shape are found as codes (red 1, blue 2, the null term 3)
    # and listed as their keys, the null term's left out
    assert spec.coded_distinct == {2}

    def answer(filters, codes=None):
        query = summaries.summary(table, filters, spec, codes)
        result = {}
        # Per aggregation, its rows' values (n, term, sums, keys), without the NULLs of
        # other columns
        for agg, *values in con.execute(query.text, query.params).fetchall():
            row = tuple(tuple(sorted(v)) if isinstance(v, list) else v
                        for v in values if v is not None)
            result.setdefault(agg, []).append(row)
        return {agg: sorted(rows) for agg, rows in result.items()}

    # By hand: shapes a round, b round, c square, d round and square; colors a
    # red, b blue, c red and blue, d none; flags a, c, d true; sizes a 1, b 2 +
    # 3, c none, d 10
    unfiltered = answer(Filters())
    # The unfiltered cardinality reads the counts table, which this table has not filled
    assert {k: v for k, v in unfiltered.items() if k != 2} == {
        None: [(4, 16)],
        3: [(2, '"square"', 10, ('"blue"', '"red"')), (3, '"round"', 16, ('"blue"', '"red"'))],
        4: [(1, 'false'), (3, 'true')]}
    # Rows with a red color: a and c
    color = table.spec(registry['color'])
    red = Filters((Is(registry['color'], ('red',)),))
    assert answer(red, {(color.id, '"red"'): 1}) == {
        None: [(2, 1)], 2: [(2,)],
        3: [(1, '"round"', 1, ('"red"',)), (1, '"square"', ('"blue"', '"red"'))],
        4: [(2, 'true')]}


def test_sort_prefix_orders_as_the_strings():
    values = ['', 'a', 'a\0', 'ab', 'abcdefgh', 'abcdefgh0', 'abcdefgi', 'abcdefg\uffff',
              '\u00e9', '\u00e9a', 'z' * 20, '\U0001f600', 'Z', '0']
    for a, b in itertools.product(values, repeat=2):
        if sort_prefix(a) < sort_prefix(b):
            assert a < b, (a, b)
        if a < b:
            assert sort_prefix(a) <= sort_prefix(b), (a, b)
    assert sort_prefix(None) is None
    # Eight bytes of UTF-8 decide: strings that differ later share a prefix
    assert sort_prefix('abcdefgh0') == sort_prefix('abcdefgh1') != sort_prefix('abcdefgi')
    assert -2 ** 63 <= sort_prefix('') < sort_prefix('\U0001f600' * 3) < 2 ** 63


@pytest.mark.parametrize('order, cursor, expected, bounded', [
    # Eight rows, entity id: value; ascending (nulls last, ids ascending):
    # e3 e0 e6 e1 e4 e2 e7 e5 (e4, e2 and e7 share their first eight bytes),
    # descending the reverse. Bounded unless fewer than three rows have a
    # prefix after the cursor's.
    ('asc', None, ['e3', 'e0', 'e6'], True),
    ('asc', ('b', 'e6'), ['e1', 'e4', 'e2'], True),
    ('asc', ('longname1', 'e2'), ['e7', 'e5'], False),
    ('desc', None, ['e5', 'e7', 'e2'], True),
    ('desc', ('longname0', 'e4'), ['e1', 'e6', 'e0'], True),
    ('desc', ('longname1', 'e7'), ['e2', 'e4', 'e1'], True),
])
def test_a_page_of_strings_is_bounded_by_prefixes(order, cursor, expected, bounded):
    field = Field('s', FieldType.keyword, 'a')
    table = TableSpec.of('t', FieldRegistry((field,)))
    assert table.prefixed_spec(table.spec(field))
    con = duckdb.connect()
    for statement in table.create_statements():
        con.execute(statement)
    values = ['b', 'c', 'longname1', 'a', 'longname0', None, 'b', 'longname1']
    for i, value in enumerate(values):
        con.execute(f'INSERT INTO {table.table} (doc, entity_id, document, codes, f0, lo0, p0) '
                    f'VALUES (?, ?, ?, [], ?, ?, ?)',
                    [i, f'e{i}', f'"e{i}"', [value], value, sort_prefix(value)])
    page = sql.PageSpec(Sort(field, order), 3, search_after=cursor)
    query = sql.page_bound(table, Filters(), page)
    assert 'p0' in query.text and 'lo0' not in query.text
    keys = con.execute(query.text, query.params).fetchall()
    pages = [page]
    if len(keys) == 3 and keys[-1][0] is not None:
        pages.append(attrs.evolve(page, bound=keys[-1][0], bounded=True))
    for spec in pages:
        query = sql.page_of(table, Filters(), spec)
        assert [row[0] for row in con.execute(query.text, query.params).fetchall()] == expected
    assert (len(pages) == 2) is bounded
    # The layout before prefix columns sorts by the strings alone
    old = TableSpec.of('t', FieldRegistry((field,)), prefixed=False)
    assert 'p0' not in sql.page_of(old, Filters(), page).text


@pytest.mark.parametrize('kind, lists', [
    (FieldType.long, [[], [None], [7], [-3], [2, 3], [None, 4], [2 ** 62, 2 ** 62]]),
    (FieldType.double, [[], [None], [-0.0], [0.0], [1.5], [0.1, 0.2], [float('nan')],
                        [float('-inf')], [None, 2.5]]),
])
def test_row_sum_is_list_sum(kind, lists):
    spec = TableSpec.of('t', FieldRegistry((Field('x', kind, 'a'),))).fields[0]
    con = duckdb.connect()
    con.execute(f'CREATE TABLE t ({spec.values} {element_type(kind)}[])')
    con.executemany('INSERT INTO t VALUES (?)', [[values] for values in lists])
    rows = con.execute(f'SELECT list_sum({spec.values})::VARCHAR, typeof(list_sum({spec.values})), '
                       f'({summaries.row_sum(spec)})::VARCHAR, typeof({summaries.row_sum(spec)}) '
                       f'FROM t').fetchall()
    assert len(rows) == len(lists)
    for expected_value, expected_type, value, type_ in rows:
        assert (value, type_) == (expected_value, expected_type)


def test_matching_share_of_independent_groups():
    con, table = _coded_table()
    color, shape, flag = (table.spec(CODED[name]) for name in ('color', 'shape', 'flag'))
    codes = {(color.id, '"red"'): 1, (color.id, '"blue"'): 2, (shape.id, '"round"'): 4,
             (flag.id, 'true'): 6}
    counts = {1: 2, 2: 2, 4: 3, 6: 3}
    # Of 4 rows: red 2, round 3; red or blue 4 (at most all rows); not true 1
    red_round = Filters((Is(CODED['color'], ('red',)), Is(CODED['shape'], ('round',))))
    assert sql.matching_share(table, red_round, codes, counts, 4) == 0.5 * 0.75
    either = Filters((Is(CODED['color'], ('red', 'blue', 'green')),))
    assert sql.matching_share(table, either, codes, counts, 4) == 1.0
    untrue = Filters((Is(CODED['flag'], (True,), negated=True),))
    assert sql.matching_share(table, untrue, codes, counts, 4) == 0.25
    # A term of values, not codes: no estimate
    named = Filters((Is(CODED['name'], ('a',)),))
    assert sql.matching_share(table, named, codes, counts, 4) is None
