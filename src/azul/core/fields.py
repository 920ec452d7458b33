"""
Field types and the field registry: the one place that knows which API field
names exist, where their values live in an aggregate document, and how they
may be filtered, faceted and sorted.

A metadata plugin declares its fields; the indexer uses `FieldRegistry.extract`
to project every aggregate onto its fields, and both backends index exactly that
projection. So the backends never see plugin-specific document paths, and field
names reach a query only after they were looked up here.
"""
import enum
import functools
import itertools
import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from azul.errors import InvalidFilterError


class FieldType(enum.Enum):
    """
    How a field's values are stored and compared.

    keyword  strings; exact match
    long     integers; `within` numeric ranges
    double   floats
    boolean  True/False; facet terms are "true"/"false" as in the original API
    date     ISO 8601 strings with a `T`, normalized so that they sort
             lexicographically; `within` ranges of such strings, as the original
             allows for its date fields
    object   JSON objects (e.g. organism age, accessions); stored in canonical JSON
    range    numeric intervals (lo, hi), e.g. organism age ranges in seconds
    """
    keyword = 'keyword'
    long = 'long'
    double = 'double'
    boolean = 'boolean'
    date = 'date'
    object = 'object'
    range = 'range'

    @property
    def relations(self) -> frozenset[str]:
        return _relations[self]

    @property
    def numeric(self) -> bool:
        return self in (FieldType.long, FieldType.double)


_relations = {
    FieldType.keyword: frozenset({'is'}),
    FieldType.long: frozenset({'is', 'within'}),
    FieldType.double: frozenset({'is', 'within'}),
    FieldType.boolean: frozenset({'is'}),
    FieldType.date: frozenset({'is', 'within'}),
    FieldType.object: frozenset({'is'}),
    FieldType.range: frozenset({'is', 'within', 'contains', 'intersects'}),
}

Range = tuple[float, float]
# One value of a field in the projection: None stands for "no value" and is a
# facet term of its own.
Value = str | int | float | bool | Range | None


@attrs.frozen
class ObjectShape:
    """
    What a filter value of an object field looks like: an object whose
    properties are strings (`nullable` ones may be null), as the original's
    filter schema describes it.

    `partial`: a filter value matches a document holding an object that has
    all of the filter value's entries, so that `{"namespace": "geo"}` matches
    the accession `{"namespace": "geo", "accession": "GSE1"}`, as the original
    matches its `nested` fields (accessions). The projection then holds, per
    stored object, the canonical JSON of each of its sub-objects (`subsets`),
    and a filter is an equality test as for any other field. Such a field
    cannot be a facet (its projection is not its values); sorted by, every
    document with a value sorts as `{}`, so that they come in entity id
    order, much as the original, which cannot sort by a `nested` field, orders
    them by its tie-breaker. The original accepts one filter value only.
    """
    properties: tuple[str, ...]
    required: tuple[str, ...] = ()
    nullable: tuple[str, ...] = ()
    partial: bool = False

    def subsets(self, value: Mapping[str, Any]) -> list[str]:
        """The canonical JSON of every sub-object of `value` over the shape's properties."""
        items = [(k, value.get(k)) for k in self.properties if k in value]
        return [canonical_json(dict(c)) for n in range(len(items) + 1)
                for c in itertools.combinations(items, n)]


@attrs.frozen
class Field:
    name: str
    type: FieldType
    # Dotted path into the aggregate document; lists on the way are flattened
    path: str
    facet: bool = False
    sortable: bool = True
    # Whether an `is` filter may name null. The original's filter schema
    # refuses null for the fields it stores without a null substitute
    # (`sourceId`, `accessible`).
    nullable: bool = True
    # Object fields: the form of filter values, and how they match
    shape: ObjectShape | None = None
    # The value of a document that has none: e.g. 0 for cell counts, which the
    # original computes as a sum (of nothing) rather than leaving them null
    default: Value = None

    def __attrs_post_init__(self):
        if self.shape is not None:
            assert self.type is FieldType.object, self
            assert not (self.shape.partial and self.facet), self

    def normalize(self, value: Any) -> Value:
        """
        A value read from a document, in the canonical form of this field's type.
        Raises ValueError if the value does not fit the type.
        """
        if value is None:
            return None
        kind = self.type
        if kind is FieldType.keyword or kind is FieldType.date:
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise ValueError(f'expected a string, got {value!r}')
            return check_text(str(value))
        elif kind is FieldType.long:
            if (isinstance(value, bool) or not isinstance(value, int | float)
                    or not is_finite(value) or value != int(value)):
                raise ValueError(f'expected an integer, got {value!r}')
            if not LONG_MIN <= value <= LONG_MAX:
                raise ValueError(f'{value!r} is outside the range of a 64-bit integer')
            return int(value)
        elif kind is FieldType.double:
            if (isinstance(value, bool) or not isinstance(value, int | float)
                    or not is_finite(value)):
                raise ValueError(f'expected a finite number, got {value!r}')
            return float(value)
        elif kind is FieldType.boolean:
            if not isinstance(value, bool):
                raise ValueError(f'expected a boolean, got {value!r}')
            return value
        elif kind is FieldType.object:
            if not isinstance(value, dict):
                raise ValueError(f'expected an object, got {value!r}')
            return canonical_json(value)
        elif kind is FieldType.range:
            return _range(value)
        else:
            raise AssertionError(kind)

    def term(self, value: Value) -> Any:
        """A stored value as the API shows it in facets (`termFacets`)."""
        if value is None:
            return None
        elif self.type is FieldType.boolean:
            return 'true' if value else 'false'
        elif self.type is FieldType.object:
            return json.loads(value)
        elif self.type is FieldType.range:
            return list(value)
        else:
            return value


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


def _range(value: Any) -> Range:
    if isinstance(value, dict):
        # Documents hold ranges as {"gte": lo, "lte": hi}, like OpenSearch range fields
        value = (value.get('gte'), value.get('lte'))
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f'expected a range [lo, hi], got {value!r}')
    lo, hi = value
    for bound in (lo, hi):
        if isinstance(bound, bool) or not isinstance(bound, int | float) or not is_finite(bound):
            raise ValueError(f'expected finite numeric range bounds, got {value!r}')
    if lo > hi:
        raise ValueError(f'lower bound exceeds upper bound in {value!r}')
    return (float(lo), float(hi))


@attrs.frozen
class FieldRegistry:
    fields: tuple[Field, ...]
    _by_name: Mapping[str, Field] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self):
        by_name = {}
        for field in self.fields:
            assert field.name not in by_name, f'duplicate field {field.name}'
            by_name[field.name] = field
        object.__setattr__(self, '_by_name', by_name)

    def __getitem__(self, name: str) -> Field:
        try:
            return self._by_name[name]
        except KeyError:
            raise InvalidFilterError(f'Unknown field {name!r}') from None

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    @property
    def facets(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.facet)

    def extract(self, document: Mapping[str, Any]) -> dict[str, tuple[Value, ...]]:
        """
        The projection of an aggregate document onto every field: a tuple of
        distinct values per field, in first-seen order, `(None,)` if the
        document has no value at all. A null inside a list is kept, so that a
        document with organs [null, "blood"] counts for both facet terms, as in
        the original Azul.
        """
        # This runs once per aggregate written, so it is on the indexer's hot
        # path: fields sharing a path prefix (contents.donors.*) walk it once.
        result = {}
        for prefix, leaves in self._plan:
            nodes = _walk(document, prefix)
            for field, key in leaves:
                normalize = field.normalize
                values = {}
                for node in nodes:
                    if node.__class__ is dict:
                        for v in _flatten(node.get(key)):
                            values[v if v.__class__ is str and field.type in _string_types
                                   else normalize(v)] = None
                shape = field.shape
                if shape is not None and shape.partial:
                    values = {k: None for v in values if v is not None
                              for k in shape.subsets(json.loads(v))} or values
                if field.default is not None and all(v is None for v in values):
                    values = {field.default: None}
                result[field.name] = tuple(values) or (None,)
        return result

    @functools.cached_property
    def _plan(self) -> list[tuple[tuple[str, ...], list[tuple[Field, str]]]]:
        plan: dict[tuple[str, ...], list[tuple[Field, str]]] = {}
        for field in self.fields:
            *prefix, key = field.path.split('.')
            plan.setdefault(tuple(prefix), []).append((field, key))
        return list(plan.items())


_string_types = (FieldType.keyword, FieldType.date)


def _walk(node: Any, path: tuple[str, ...]) -> list[Any]:
    """The nodes at `path` below `node`, lists along the way flattened."""
    nodes = _flatten(node)
    for part in path:
        nodes = [v for n in nodes if n.__class__ is dict for v in _flatten(n.get(part))]
    return nodes


def _flatten(node: Any) -> list[Any]:
    # Ranges are stored as {"gte": lo, "lte": hi} objects, so every list is a
    # list of values and flattens completely.
    if node.__class__ is list:
        if all(item.__class__ is not list for item in node):
            return node
        return [v for item in node for v in _flatten(item)]
    else:
        return [node]


@attrs.frozen
class AccessibleField(Field):
    """
    Whether the caller may download the data of an entity. The service
    decides per caller; the indexed value (true for any source) only keeps
    the document shape of the original (every plugin registers it
    beside `sourceId`, see `azul.auth.reify`). Booleans pass through unchanged
    (filter values).
    """

    def normalize(self, value: Any) -> Value:
        if value is None or isinstance(value, bool):
            return value
        return True
