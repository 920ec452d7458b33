"""
Table layout of the DuckDB backend, and conversions between projection values
and column values.

Per aggregate index `T` (named by `base.index_name`):

  T            one row per entity: `doc` (the row's version, unique forever),
               `entity_id`, `document` (JSON compressed on its own with
               the table's preset dictionary, see `packed` and `zdicts`;
               tables made before this hold the JSON text, see
               `TableSpec.packed`), and per registered field i a
               LIST column `f{i}` holding the field's projection, None as a
               NULL element. Sortable fields also get `lo{i}`, the smallest
               value (range fields: lower bound), which is what the original
               sorts by in both directions, so that sorting is a plain top-N
               over a scalar column. (Tables made before this had a `hi{i}`
               column too, now left NULL.) `codes` lists the
               dictionary codes of every facet term of the row, the null terms
               included: counting all facets of the matching rows is then one
               UNNEST and GROUP BY over one INTEGER[] column, instead of one per
               facet over wide LIST columns, or a join with a value table.
  T__counts    (field, code, n): the number of rows per term, kept up to date
               by every write, so that the unfiltered facets (every first page
               of the data browser) read a small table instead of counting
               tens of millions of values. Per summed field i (`Long` and
               `Double` fields), `s{i}` is the exact sum (HUGEINT) of the
               field's values in the rows having the term, so that the
               unfiltered summary's terms aggregations with sums read it too;
               rows of field -1 (`sums`) hold the totals, the magnitudes and
               the inexact values of the summed fields (tables made before
               this have no `s{i}`, see `summed`).
               Per facet field i, `k{i}` lists the codes of that field's
               terms only (tables made before this have none, see `coded`):
               a filter on a keyword or boolean facet tests a few integers
               instead of strings, and a facet that ignores its own filter
               counts integers.
               Per sortable field whose sort column is a string, `p{i}` is
               `sort_prefix` of the sort value: an integer that orders as the
               strings do where they differ in their first eight bytes, so
               that a top-N and its bound compare integers instead of
               decompressing every string (tables made before this have none,
               see `prefixed`).
               Per facet field i whose `is` filters test codes, `s{i}` is
               the row's code of the field when it has exactly one term,
               else NULL: a filter compares an integer instead of reading
               the list `k{i}` on most rows (tables made before this have
               none, see `singled`).
  T__terms     (field, code, value): the dictionary, values as JSON (`null`
               for the null term). Codes are unique across fields.

Columns are named by the field's position in the registry, kept in the
`{prefix}_{deployment}__meta` table, so field names never reach SQL.
"""

import re
from collections.abc import Sequence
from typing import Any

import attrs
import orjson

from azul.backends.duckdb.contributions import contribution_inner_table
from azul.backends.duckdb.packed import PACKED_COLUMN
from azul.core.fields import Field, FieldRegistry, FieldType, Value
from azul.errors import ConfigError, InvalidFilterError

_identifier_re = re.compile(r'^[a-z][a-z0-9_-]{0,250}$')

# The clause of a column of JSON documents (contributions, replicas, and
# the aggregates of tables made before `packed`). DuckDB's default for a
# string column, DICT_FSST, costs a checkpoint about 0.4 ms of CPU per string
# longer than 4 kB, most of a bulk reindex's checkpoints (issue 16); ZSTD
# checkpoints such columns 4 to 5 times faster and stores them in half the
# space (10,000 documents of 9.6 kB: 4.2 -> 0.9 CPU s, 33 -> 17 MB). Nothing
# filters or sorts on these columns.
LARGE_TEXT = 'USING COMPRESSION zstd'


def ident(name: str) -> str:
    """A table or sequence name, validated and quoted for interpolation into SQL."""
    if not _identifier_re.match(name):
        raise ConfigError(f'Invalid DuckDB identifier {name!r}')
    return f'"{name}"'


def element_type(field_type: FieldType) -> str:
    return field_type.duckdb_type


def sort_type(field_type: FieldType) -> str:
    return field_type.duckdb_sort_type


@attrs.frozen
class FieldSpec:
    """A registered field and the position that names its columns."""
    id: int
    field: Field

    @property
    def values(self) -> str:
        return f'f{self.id}'

    @property
    def sort_column(self) -> str:
        return f'lo{self.id}'

    @property
    def codes(self) -> str:
        """The column of the codes of the field's terms (facet fields of coded tables)."""
        return f'k{self.id}'

    @property
    def single(self) -> str:
        """The column of the field's code in rows with one term (see `TableSpec.singled`)."""
        return f's{self.id}'

    @property
    def prefix(self) -> str:
        """The column of the sort value's `sort_prefix` (string sort columns of prefixed tables)."""
        return f'p{self.id}'

    @property
    def sum(self) -> str:
        """The counts table's column of the field's per-term sums (summed tables)."""
        return f's{self.id}'


@attrs.frozen
class TableSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    # Whether the facet fields have their `k{i}` code columns
    coded: bool = True
    # Whether string sort columns have their `p{i}` prefix columns
    prefixed: bool = True
    # Whether documents are compressed one by one (`packed`), not JSON text
    packed: bool = True
    # Whether the counts table has the per-term sums of the summed fields
    summed: bool = True
    # Whether the facet fields whose filters test codes have their `s{i}` columns
    singled: bool = True
    # The preset dictionary that a write packs new documents with (see
    # `zdicts`), set for the write only
    zdict: bytes | None = attrs.field(default=None, repr=False)

    @property
    def table(self) -> str:
        return ident(self.name)

    @property
    def counts_table(self) -> str:
        return ident(self.name + '__counts')

    @property
    def terms_table(self) -> str:
        return ident(self.name + '__terms')

    @property
    def doc_sequence(self) -> str:
        return ident(self.name + '__docs')

    @property
    def code_sequence(self) -> str:
        return ident(self.name + '__codes')

    @property
    def facets(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.field.facet)

    def spec(self, field: Field) -> FieldSpec:
        for spec in self.fields:
            if spec.field.name == field.name:
                if spec.field.type is not field.type:
                    raise InvalidFilterError(f'Field {field.name!r} is indexed as '
                                             f'{spec.field.type.value}, not {field.type.value}')
                return spec
        raise InvalidFilterError(f'Field {field.name!r} is not indexed')

    def coded_spec(self, spec: FieldSpec) -> bool:
        """Whether the field has a code column."""
        return self.coded and spec.field.facet

    def coded_filter(self, spec: FieldSpec) -> bool:
        """
        Whether an `is` filter on the field may test codes: the dictionary
        key of a keyword or boolean value is equal iff the value is (a number
        may be written as `1` or `1.0`, so other types test values).
        """
        return self.coded_spec(spec) and spec.field.type in (FieldType.keyword,
                                                              FieldType.boolean)

    @property
    def summed_fields(self) -> tuple[FieldSpec, ...]:
        """The fields whose per-term sums the counts table keeps: none unless `summed`."""
        if not self.summed:
            return ()
        return tuple(f for f in self.fields if f.field.type.duckdb_type in SUMMED_TYPES)

    def single_spec(self, spec: FieldSpec) -> bool:
        """Whether the field has a column of its single code."""
        return self.singled and self.coded_filter(spec)

    def prefixed_spec(self, spec: FieldSpec) -> bool:
        """Whether the field has a prefix column."""
        return (self.prefixed and spec.field.sortable
                and sort_type(spec.field.type) == PREFIXED_TYPE)

    @classmethod
    def of(cls, name: str, registry: FieldRegistry, coded: bool = True,
           prefixed: bool = True, packed: bool = True, summed: bool = True,
           singled: bool = True) -> 'TableSpec':
        return cls(name, tuple(FieldSpec(i, f) for i, f in enumerate(registry)), coded,
                   prefixed, packed, summed, singled)

    @property
    def document_type(self) -> str:
        """The type of the `document` column, as a query parameter or a loaded row's."""
        return 'BLOB' if self.packed else 'VARCHAR'

    def create_statements(self) -> list[str]:
        document = PACKED_COLUMN if self.packed else f'document VARCHAR NOT NULL {LARGE_TEXT}'
        columns = ['doc BIGINT NOT NULL', 'entity_id VARCHAR NOT NULL', document,
                   'codes INTEGER[] NOT NULL']
        for spec in self.fields:
            kind = spec.field.type
            columns.append(f'{spec.values} {element_type(kind)}[] NOT NULL')
            if spec.field.sortable:
                columns.append(f'{spec.sort_column} {sort_type(kind)}')
            if self.prefixed_spec(spec):
                columns.append(f'{spec.prefix} BIGINT')
            if self.coded_spec(spec):
                columns.append(f'{spec.codes} INTEGER[] NOT NULL')
            if self.single_spec(spec):
                columns.append(f'{spec.single} INTEGER')
        sums = ''.join(f'{spec.sum} HUGEINT NOT NULL, ' for spec in self.summed_fields)
        return [
            f'CREATE SEQUENCE IF NOT EXISTS {self.doc_sequence}',
            f'CREATE SEQUENCE IF NOT EXISTS {self.code_sequence}',
            f'CREATE TABLE IF NOT EXISTS {self.table} ({", ".join(columns)})',
            f'CREATE TABLE IF NOT EXISTS {self.counts_table} (field SMALLINT NOT NULL, '
            f'code INTEGER NOT NULL, n BIGINT NOT NULL, {sums}PRIMARY KEY (field, code))',
            f'CREATE TABLE IF NOT EXISTS {self.terms_table} '
            f'(field SMALLINT NOT NULL, code INTEGER NOT NULL, value VARCHAR NOT NULL)',
        ]

    def drop_statements(self) -> list[str]:
        return [f'DROP TABLE IF EXISTS {t}'
                for t in (self.table, self.counts_table, self.terms_table)] + [
            f'DROP SEQUENCE IF EXISTS {s}' for s in (self.doc_sequence, self.code_sequence)]


def contribution_create_statement(name: str) -> str:
    # Two statements: the contributions and their inner entities (see
    # `contributions`), dropped together by `contribution_drop_statements`
    return (f'CREATE TABLE IF NOT EXISTS {ident(name)} ('
            f'id VARCHAR NOT NULL, entity_id VARCHAR NOT NULL, bundle_uuid VARCHAR NOT NULL, '
            f'bundle_version VARCHAR NOT NULL, deleted BOOLEAN NOT NULL, '
            f'source VARCHAR NOT NULL, contents VARCHAR NOT NULL {LARGE_TEXT}); '
            f'{contribution_inner_create_statement(name)}')


def contribution_inner_create_statement(name: str) -> str:
    return (f'CREATE TABLE IF NOT EXISTS {ident(contribution_inner_table(name))} '
            f'(key UUID NOT NULL, doc VARCHAR NOT NULL {LARGE_TEXT})')


def contribution_drop_statements(name: str) -> list[str]:
    return [f'DROP TABLE IF EXISTS {ident(contribution_inner_table(name))}',
            f'DROP TABLE IF EXISTS {ident(name)}']


def to_column(field: Field, values: Sequence[Value]) -> list[Any]:
    """A projection as the value of the field's LIST column."""
    return [None if v is None else field.type.to_duckdb(v) for v in values]


def from_column(field: Field, value: Any) -> Value:
    """One element of a LIST column (or a term) as a projection value."""
    return None if value is None else field.type.from_duckdb(value)


def sort_value(field: Field, values: Sequence[Value]) -> Any:
    """The value of the sort column: the smallest value (range fields: lower bound)."""
    present = [field.type.sort_key(v) for v in values if v is not None]
    return min(present) if present else None


# The column types of the fields whose per-term sums the counts table keeps
SUMMED_TYPES = ('BIGINT', 'DOUBLE')

# The sort type whose columns have a prefix column
PREFIXED_TYPE = 'VARCHAR'

# Bytes of a string's UTF-8 encoding in its prefix
_PREFIX_BYTES = 8


def sort_prefix(value: str | None) -> int | None:
    """
    The first eight bytes of a string's UTF-8 encoding, padded with zeros,
    as a signed 64-bit integer in the same order: DuckDB compares strings by
    their bytes, which is the order of code points that the original's sort
    follows. So `sort_prefix(a) < sort_prefix(b)` implies `a < b`, and
    `a < b` implies `sort_prefix(a) <= sort_prefix(b)`.
    """
    if value is None:
        return None
    head = value.encode()[:_PREFIX_BYTES].ljust(_PREFIX_BYTES, b'\0')
    return int.from_bytes(head, 'big') - (1 << 63)


def encode_term(value: Value) -> str:
    """
    The dictionary key of a value: JSON, ranges as arrays, `null` for the null
    term. -0.0 is 0.0 (adding 0.0 makes it so), as the two are one term: a
    key of each made the unfiltered facets and cardinalities, which count
    codes, see two terms where there is one.
    """
    if isinstance(value, float):
        value += 0.0
    elif isinstance(value, tuple):
        value = tuple(v + 0.0 if isinstance(v, float) else v for v in value)
    return orjson.dumps(value).decode()


def decode_term(field: Field, text: str | None) -> Value:
    value = None if text is None else orjson.loads(text)
    return None if value is None else field.type.from_json(value)
