"""
One class per field type, owning everything that differs between types: the
filter relations it accepts, how a document value, a filter value and a sort
value (of a cursor) are checked and canonicalized, the JSON schema of its
filter values, and how both backends store and query it.

The backends' specifics live here as data (column types, mapping types,
templates of SQL) and as pure functions of values, so that adding a type is
adding a class and a backend dispatches on the type object rather than
branching over kinds; nothing here does I/O.

`FieldType.keyword` etc. are the single instances, as the names of the former
enum's members were, so that identity comparisons, `FieldType('long')`
(decoding a stored registry), `.value` and iterating `FieldType` keep working.
"""
import json
import math
import re
from collections.abc import Callable, Container, Mapping
from typing import Any, ClassVar

import orjson

from azul.errors import InvalidFilterError

Range = tuple[float, float]
# One value of a field in the projection: None stands for "no value" and is a
# facet term of its own.
Value = str | int | float | bool | Range | None

LONG_MIN, LONG_MAX = -2 ** 63, 2 ** 63 - 1


def is_finite(value: int | float) -> bool:
    # Python ints are unbounded; both backends store IEEE doubles or int64
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_text(value: str) -> str:
    """A string both backends can store: valid Unicode (no lone surrogates)."""
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        raise ValueError(f'{value!r} is not valid Unicode') from None
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(',', ':'))


def _is_text(value: Any) -> bool:
    try:
        check_text(value)
    except ValueError:
        return False
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and is_finite(value)


# Checks of filter values against the original's JSON schema of `filters`,
# worded as `jsonschema` words its messages (see `azul.core.filters`)

class SchemaViolation(Exception):
    """A schema violation: the message and the JSON path of the offending value."""

    def __init__(self, message: str, path: str):
        super().__init__(message, path)
        self.message = message
        self.path = path


def child_path(path: str, name: str) -> str:
    """The JSON path of a property, spelled as `jsonschema` spells it."""
    if _identifier_re.match(name):
        return f'{path}.{name}'
    escaped = name.replace('\\', '\\\\').replace("'", "\\'")
    return f"{path}['{escaped}']"


_identifier_re = re.compile(r'[a-zA-Z][a-zA-Z0-9_]*\Z')


def check_additional(instance: Mapping, allowed: Container[str], path: str) -> None:
    extras = sorted({k for k in instance if k not in allowed}, key=str)
    if extras:
        verb = 'was' if len(extras) == 1 else 'were'
        names = ', '.join(repr(k) for k in extras)
        raise SchemaViolation(f'Additional properties are not allowed ({names} {verb} '
                              f'unexpected)', path)


def check_array(values: Any, path: str, *, item, min_items: int = 0,
                max_items: int | None = None) -> None:
    if not isinstance(values, list):
        raise SchemaViolation(f'{values!r} is not of type {json_type_names("array")}', path)
    for i, value in enumerate(values):
        item(value, f'{path}[{i}]')
    if len(values) < min_items:
        message = 'should be non-empty' if min_items == 1 else 'is too short'
        raise SchemaViolation(f'{values!r} {message}', path)
    if max_items is not None and len(values) > max_items:
        raise SchemaViolation(f'{values!r} is too long', path)


def json_type_names(*names: str) -> str:
    return ', '.join(repr(n) for n in names)


def is_json_type(value: Any, name: str) -> bool:
    if name == 'null':
        return value is None
    elif name == 'string':
        return isinstance(value, str)
    elif name == 'boolean':
        return isinstance(value, bool)
    elif name == 'integer':
        # As in JSON schema, 1.0 is an integer
        return _is_number(value) and float(value).is_integer()
    elif name == 'number':
        # JSON has no infinities; Python's decoder makes them of 1e400
        return _is_number(value)
    elif name == 'object':
        return isinstance(value, Mapping)
    elif name == 'array':
        return isinstance(value, list)
    else:
        raise AssertionError(name)


def check_type(value: Any, path: str, *names: str) -> None:
    if not any(is_json_type(value, n) for n in names):
        raise SchemaViolation(f'{value!r} is not of type {json_type_names(*names)}', path)


def check_pair(value: Any, path: str, name: str) -> None:
    def bound(v, p):
        check_type(v, p, name)

    check_array(value, path, item=bound, min_items=2, max_items=2)


def _unions(value: Any, path: str) -> SchemaViolation:
    return SchemaViolation(f'{value!r} is not valid under any of the given schemas', path)


_openapi_types = {
    'string': {'type': 'string'},
    'integer': {'type': 'integer', 'format': 'int64'},
    'number': {'type': 'number', 'format': 'double'},
    'boolean': {'type': 'boolean'},
}


def pair_schema(bound: dict[str, Any]) -> dict[str, Any]:
    return {'type': 'array', 'items': bound, 'minItems': 2, 'maxItems': 2}


class _Members(type):
    """Lets the base class stand for the set of its instances, as an enum would."""

    def __iter__(cls):
        return iter(_members.values())

    def __call__(cls, *args, **kwargs):
        if cls is FieldType:
            [value] = args
            try:
                return _members[value]
            except KeyError:
                raise ValueError(f'{value!r} is not a valid FieldType') from None
        return super().__call__(*args, **kwargs)


class FieldType(metaclass=_Members):
    """
    How a field's values are stored, compared, filtered and sorted. Methods
    taking a value are not called with None, which every type treats alike
    (the null term).
    """
    value: ClassVar[str]
    relations: ClassVar[frozenset[str]] = frozenset({'is'})
    numeric: ClassVar[bool] = False
    # The JSON schema type of an `is` value and of a `within` bound
    json_type: ClassVar[str | None] = None
    # Whether a string in a document is already the canonical value
    textual: ClassVar[bool] = False

    duckdb_type: ClassVar[str]
    # The expression of the JSON of an element `v` of the LIST column
    duckdb_json: ClassVar[str] = 'v'

    opensearch_type: ClassVar[str]
    # The objects of an aggregate's source holding a field's terms and sort keys
    opensearch_terms: ClassVar[str] = 'fields'
    opensearch_sort: ClassVar[str] = 'fields'
    # Properties a field of this type needs besides its own, by object
    opensearch_companions: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    # The `relation` parameter of a range query, per filter relation but `is`
    # (none: a range query on a plain field)
    opensearch_relations: ClassVar[Mapping[str, str | None]] = {'within': None}

    @property
    def name(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f'FieldType.{self.value}'

    def __reduce__(self):
        # Unpickled, a type is the same instance, so that `is` comparisons hold
        return FieldType, (self.value,)

    # Values of documents and of the API

    def normalize(self, value: Any) -> Value:
        """
        A value read from a document, in the canonical form of this type.
        Raises ValueError if the value does not fit the type.
        """
        raise NotImplementedError

    def term(self, value: Value) -> Any:
        """A stored value as the API shows it in facets (`termFacets`)."""
        return value

    def filter_json(self, value: Value) -> Any:
        """A stored value as the API form of an `is` filter holds it."""
        return self.term(value)

    # Filters

    def check_is(self, field, value: Any, path: str) -> None:
        """Raise `SchemaViolation` unless `value` is a valid value of an `is` filter."""
        names = ('null', self.json_type) if field.nullable else (self.json_type,)
        check_type(value, path, *names)

    def parse_is(self, value: Any) -> Value:
        """A non-null `is` value the schema accepted, as the AST holds it."""
        return self.normalize(value)

    def check_bounds(self, relation: str, value: Any, path: str) -> None:
        """Raise `SchemaViolation` unless `value` is a valid range of `relation`."""
        check_pair(value, path, self.json_type)

    def parse_bounds(self, relation: str, value: Any, path: str) -> tuple[Any, Any]:
        """A range the schema accepted, as the AST holds it."""
        lo, hi = value
        return float(lo), float(hi)

    def is_schema(self, field) -> dict[str, Any]:
        """The OpenAPI schema of one value of an `is` filter."""
        nullable = {'nullable': True} if field.nullable else {}
        return {**_openapi_types[self.json_type], **nullable}

    def bounds_schema(self, relation: str) -> dict[str, Any]:
        """The OpenAPI schema of one range of a filter other than `is`."""
        return pair_schema(_openapi_types[self.json_type])

    def range_test(self, relation: str) -> Callable[[Any, Any], bool]:
        """Whether a non-null value `v` meets a range `r` of `relation`: the reference."""
        assert relation == 'within', relation
        return lambda v, r: r[0] <= v <= r[1]

    # Sorting

    def parse_sort_value(self, value: Any) -> Any:
        """A non-null sort value of a cursor; ValueError if it does not fit."""
        if not (isinstance(value, str) and _is_text(value)):
            raise ValueError(value)
        return value

    def sort_key(self, value: Value) -> Any:
        """What a non-null value sorts by."""
        return value

    # DuckDB: a LIST column of `duckdb_type` per field

    @property
    def duckdb_sort_type(self) -> str:
        return self.duckdb_type

    def duckdb_is(self, value: Value) -> tuple[str, tuple[Any, ...]]:
        """An element equal to a non-null value: an SQL expression and its parameters."""
        return f'?::{self.duckdb_type}', (value,)

    def duckdb_range_test(self, relation: str) -> tuple[str, tuple[int, int], Callable] | None:
        """
        For a relation but `is`, the test of an element `x`, which of the
        range's bounds its two parameters are, and how a bound is passed; None
        if the type has no such relation.
        """
        return None

    def to_duckdb(self, value: Value) -> Any:
        """A non-null value as an element of the LIST column."""
        return value

    def from_duckdb(self, value: Any) -> Value:
        """A non-null element of the LIST column as a value."""
        return value

    def from_json(self, value: Any) -> Value:
        """A non-null value as JSON (a term) decodes."""
        return value

    def duckdb_sort_param(self, value: Any) -> Any:
        """A non-null sort value as the sort column's value."""
        return value

    # OpenSearch

    def opensearch_mapping(self) -> dict[str, Any]:
        return {'type': self.opensearch_type}

    def opensearch_term(self, value: Value) -> Any:
        """A non-null value as a term query expects it."""
        return value

    def opensearch_after(self, value: Any) -> Any:
        """A non-null sort key as `search_after` expects it."""
        return value

    def opensearch_bounds(self, lo: Any, hi: Any) -> tuple[Any, Any] | None:
        """The bounds of a range query; None if no value can lie within them."""
        return lo, hi

    def encode_facet_term(self, value: Value) -> str:
        """
        The JSON of a non-null facet term, canonical so that equal values (`1`
        and `1.0` of a double field, `-0.0` and `0.0`) are one term, as they are
        in a typed field.
        """
        # orjson: this runs for every term of every document written (the
        # standard library's took 100 µs a document)
        return orjson.dumps(str(value)).decode()

    def from_opensearch(self, key: Any) -> Value:
        """
        A value as OpenSearch returns it (a source value or an aggregation
        bucket key) or as a facet term holds it.
        """
        return str(key)

    def from_opensearch_source(self, stored: Any) -> Value:
        """One stored value of the source's `fields` object."""
        return self.from_opensearch(stored)


def _within(test: str = '(x >= ? AND x <= ?)', bound: Callable = float):
    return test, (0, 1), bound


class Keyword(FieldType):
    """Strings; exact match."""
    value = 'keyword'
    json_type = 'string'
    textual = True
    duckdb_type = 'VARCHAR'
    opensearch_type = 'keyword'

    def normalize(self, value: Any) -> Value:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f'expected a string, got {value!r}')
        return check_text(str(value))


class Date(Keyword):
    """
    ISO 8601 strings with a `T`, normalized so that they sort
    lexicographically; `within` ranges of such strings, as the original allows
    for its date fields. OpenSearch keeps them as keywords, whose range
    queries compare strings, which is how dates of the original's form sort.
    """
    value = 'date'
    relations = frozenset({'is', 'within'})

    # The form of the original's dates (`format_dcp2_datetime`), which sort as strings
    pattern = re.compile(r'\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z')

    def parse_bounds(self, relation: str, value: Any, path: str) -> tuple[Any, Any]:
        for i, bound in enumerate(value):
            if not self.pattern.fullmatch(bound):
                # The original fails on these while parsing them (500); a
                # client's malformed value is a 400 here
                raise InvalidFilterError(f'The value of the `filters` parameter is invalid: '
                                         f'{bound!r} is not a date of the form '
                                         f'2021-01-31T23:59:59.000000Z at path {path}[{i}]')
        lo, hi = value
        return lo, hi

    def bounds_schema(self, relation: str) -> dict[str, Any]:
        return pair_schema({**_openapi_types['string'],
                            'pattern': '^' + self.pattern.pattern + '$'})

    def duckdb_range_test(self, relation: str):
        return _within(bound=str) if relation == 'within' else None


class _Number(FieldType):
    relations = frozenset({'is', 'within'})
    numeric = True

    def check_is(self, field, value: Any, path: str) -> None:
        if not (is_json_type(value, self.json_type) or (field.nullable and value is None)):
            if field.nullable:
                # The original's schema for a nullable number is a union with null
                raise _unions(value, path)
            raise SchemaViolation(f'{value!r} is not of type '
                                  f'{json_type_names(self.json_type)}', path)

    def duckdb_range_test(self, relation: str):
        return _within() if relation == 'within' else None


class Long(_Number):
    """Integers; `within` numeric ranges."""
    value = 'long'
    json_type = 'integer'
    duckdb_type = 'BIGINT'
    opensearch_type = 'long'

    def normalize(self, value: Any) -> Value:
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not is_finite(value) or value != int(value)):
            raise ValueError(f'expected an integer, got {value!r}')
        if not LONG_MIN <= value <= LONG_MAX:
            raise ValueError(f'{value!r} is outside the range of a 64-bit integer')
        return int(value)

    def parse_is(self, value: Any) -> Value:
        return self.normalize(int(value))

    def parse_sort_value(self, value: Any) -> Any:
        if not (_is_number(value) and float(value).is_integer()
                and LONG_MIN <= value <= LONG_MAX):
            raise ValueError(value)
        return int(value)

    def opensearch_bounds(self, lo: float, hi: float) -> tuple[int, int] | None:
        # OpenSearch fails the whole query for a bound beyond a long (`1e300`),
        # where the reference semantics, comparing numbers, match every value
        # up to it
        if lo > LONG_MAX or hi < LONG_MIN:
            return None
        # Comparing before converting: float(LONG_MAX) is 2 ** 63, beyond a long
        return (LONG_MIN if lo <= LONG_MIN else math.ceil(lo),
                LONG_MAX if hi >= LONG_MAX else math.floor(hi))

    def encode_facet_term(self, value: Value) -> str:
        return str(int(value))

    def from_opensearch(self, key: Any) -> Value:
        return int(key)


class Double(_Number):
    """Floats."""
    value = 'double'
    json_type = 'number'
    duckdb_type = 'DOUBLE'
    opensearch_type = 'double'

    def normalize(self, value: Any) -> Value:
        if isinstance(value, bool) or not isinstance(value, int | float) or not is_finite(value):
            raise ValueError(f'expected a finite number, got {value!r}')
        return float(value)

    def parse_sort_value(self, value: Any) -> Any:
        if not _is_number(value):
            raise ValueError(value)
        return float(value)

    def from_duckdb(self, value: Any) -> Value:
        return float(value)

    def from_json(self, value: Any) -> Value:
        return float(value)

    def duckdb_sort_param(self, value: Any) -> Any:
        return float(value)

    def encode_facet_term(self, value: Value) -> str:
        # orjson would write NaN as null
        return json.dumps(float(value) + 0.0)

    def from_opensearch(self, key: Any) -> Value:
        return float(key)


class Boolean(FieldType):
    """True/False; facet terms are "true"/"false" as in the original API."""
    value = 'boolean'
    json_type = 'boolean'
    duckdb_type = 'BOOLEAN'
    opensearch_type = 'boolean'

    def normalize(self, value: Any) -> Value:
        if not isinstance(value, bool):
            raise ValueError(f'expected a boolean, got {value!r}')
        return value

    def term(self, value: Value) -> Any:
        return 'true' if value else 'false'

    def filter_json(self, value: Value) -> Any:
        return value

    def check_is(self, field, value: Any, path: str) -> None:
        # Not in the original's schema, but clients echo our facet terms,
        # which are strings for booleans
        if value not in ('true', 'false'):
            super().check_is(field, value, path)

    def parse_is(self, value: Any) -> Value:
        return value == 'true' if isinstance(value, str) else self.normalize(value)

    def parse_sort_value(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ValueError(value)
        return value

    def opensearch_after(self, value: Any) -> Any:
        # Booleans sort as 0 and 1, and `search_after` rejects true and false
        return int(value)

    def encode_facet_term(self, value: Value) -> str:
        return 'true' if value else 'false'

    def from_opensearch(self, key: Any) -> Value:
        # Buckets of boolean fields have the keys 1 and 0
        return bool(key)


class Object(FieldType):
    """
    JSON objects (e.g. organism age, accessions); stored in canonical JSON.
    The field's `ObjectShape`, if any, says what a filter value looks like.
    """
    value = 'object'
    duckdb_type = 'VARCHAR'
    opensearch_type = 'keyword'

    def normalize(self, value: Any) -> Value:
        if not isinstance(value, dict):
            raise ValueError(f'expected an object, got {value!r}')
        return canonical_json(value)

    def term(self, value: Value) -> Any:
        return json.loads(value)

    def check_is(self, field, value: Any, path: str) -> None:
        shape = field.shape
        if shape is None:
            names = ('null', 'object') if field.nullable else ('object',)
            check_type(value, path, *names)
        elif shape.partial:
            # The original's `nested` fields: an object, never null
            _check_properties(shape, value, path)
        else:
            # A union of null and the object in the original's schema
            try:
                if not (value is None and field.nullable):
                    _check_properties(shape, value, path)
            except SchemaViolation:
                raise _unions(value, path) from None

    def parse_is(self, value: Any) -> Value:
        return canonical_json(value)

    def is_schema(self, field) -> dict[str, Any]:
        nullable = {'nullable': True} if field.nullable else {}
        shape = field.shape
        if shape is None:
            return {'type': 'object', **nullable}
        properties = {name: {'type': 'string',
                             **({'nullable': True} if name in shape.nullable else {})}
                      for name in shape.properties}
        schema = {'type': 'object', 'properties': properties, 'additionalProperties': False}
        if shape.required:
            schema['required'] = list(shape.required)
        return schema if shape.partial else {**schema, **nullable}


def _check_properties(shape, value: Any, path: str) -> None:
    check_type(value, path, 'object')
    for name in shape.properties:
        if name in value:
            names = ('null', 'string') if name in shape.nullable else ('string',)
            check_type(value[name], child_path(path, name), *names)
    for name in shape.required:
        if name not in value:
            raise SchemaViolation(f'{name!r} is a required property', path)
    check_additional(value, shape.properties, path)


class RangeType(FieldType):
    """
    Numeric intervals (lo, hi), e.g. organism age ranges in seconds. A
    document holds them as {"gte": lo, "lte": hi}, like OpenSearch range
    fields; they sort by their lower bound.
    """
    value = 'range'
    relations = frozenset({'is', 'within', 'contains', 'intersects'})
    json_type = 'number'
    duckdb_type = 'STRUCT(lo DOUBLE, hi DOUBLE)'
    duckdb_json = '[v.lo, v.hi]'
    opensearch_type = 'double_range'
    opensearch_terms = 'range_key'
    opensearch_sort = 'range_lower'
    opensearch_companions = {'range_lower': {'type': 'double'},
                             'range_key': {'type': 'keyword'}}
    opensearch_relations = {'within': 'within', 'contains': 'contains',
                            'intersects': 'intersects'}

    _tests = {
        'within': lambda v, r: r[0] <= v[0] and v[1] <= r[1],
        'contains': lambda v, r: v[0] <= r[0] and r[1] <= v[1],
        'intersects': lambda v, r: v[0] <= r[1] and r[0] <= v[1],
    }
    # Element x is a STRUCT(lo, hi), the parameters the requested range's bounds
    _duckdb_tests = {
        'within': ('(x.lo >= ? AND x.hi <= ?)', (0, 1)),
        'contains': ('(x.lo <= ? AND ? <= x.hi)', (0, 1)),
        'intersects': ('(x.lo <= ? AND ? <= x.hi)', (1, 0)),
    }

    def normalize(self, value: Any) -> Value:
        if isinstance(value, dict):
            value = (value.get('gte'), value.get('lte'))
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ValueError(f'expected a range [lo, hi], got {value!r}')
        lo, hi = value
        for bound in (lo, hi):
            if not _is_number(bound):
                raise ValueError(f'expected finite numeric range bounds, got {value!r}')
        if lo > hi:
            raise ValueError(f'lower bound exceeds upper bound in {value!r}')
        return (float(lo), float(hi))

    def term(self, value: Value) -> Any:
        return list(value)

    def check_is(self, field, value: Any, path: str) -> None:
        check_pair(value, path, 'number')

    def check_bounds(self, relation: str, value: Any, path: str) -> None:
        if relation == 'contains':
            # A point or a range
            if not is_json_type(value, 'number'):
                try:
                    check_pair(value, path, 'number')
                except SchemaViolation:
                    raise _unions(value, path) from None
        else:
            super().check_bounds(relation, value, path)

    def parse_bounds(self, relation: str, value: Any, path: str) -> tuple[Any, Any]:
        if relation == 'contains' and not isinstance(value, list):
            return float(value), float(value)
        return super().parse_bounds(relation, value, path)

    def is_schema(self, field) -> dict[str, Any]:
        return pair_schema(_openapi_types['number'])

    def bounds_schema(self, relation: str) -> dict[str, Any]:
        number = _openapi_types['number']
        if relation == 'contains':
            return {'anyOf': [number, pair_schema(number)]}
        return pair_schema(number)

    def range_test(self, relation: str) -> Callable[[Any, Any], bool]:
        return self._tests[relation]

    def parse_sort_value(self, value: Any) -> Any:
        if not _is_number(value):
            raise ValueError(value)
        return float(value)

    def sort_key(self, value: Value) -> Any:
        return value[0]

    @property
    def duckdb_sort_type(self) -> str:
        return 'DOUBLE'

    def duckdb_is(self, value: Value) -> tuple[str, tuple[Any, ...]]:
        return 'struct_pack(lo := ?::DOUBLE, hi := ?::DOUBLE)', (value[0], value[1])

    def duckdb_range_test(self, relation: str):
        test, order = self._duckdb_tests[relation]
        return test, order, float

    def to_duckdb(self, value: Value) -> Any:
        return {'lo': value[0], 'hi': value[1]}

    def from_duckdb(self, value: Any) -> Value:
        return (float(value['lo']), float(value['hi']))

    def from_json(self, value: Any) -> Value:
        return (float(value[0]), float(value[1]))

    def duckdb_sort_param(self, value: Any) -> Any:
        return float(value)

    def opensearch_term(self, value: Value) -> Any:
        # Adding 0.0 turns -0.0 into 0.0, so that equal ranges get equal keys
        return json.dumps([value[0] + 0.0, value[1] + 0.0])

    def encode_facet_term(self, value: Value) -> str:
        return self.opensearch_term(value)

    def from_opensearch(self, key: Any) -> Value:
        lo, hi = json.loads(key) if isinstance(key, str) else key
        return (float(lo), float(hi))

    def from_opensearch_source(self, stored: Any) -> Value:
        return (float(stored['gte']), float(stored['lte']))


_members: dict[str, FieldType] = {}
for _cls in (Keyword, Long, Double, Boolean, Date, Object, RangeType):
    _members[_cls.value] = _cls()
    setattr(FieldType, _cls.value, _members[_cls.value])
del _cls
