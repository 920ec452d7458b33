"""
The field registry: the one place that knows which API field names exist,
where their values live in an aggregate document, and how they may be
filtered, faceted and sorted. What differs between the types of fields lives
in their classes (`azul.core.field_types`), re-exported here.

A metadata plugin declares its fields; the indexer uses `FieldRegistry.extract`
to project every aggregate onto its fields, and both backends index exactly that
projection. So the backends never see plugin-specific document paths, and field
names reach a query only after they were looked up here.
"""
import functools
import itertools
import json
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from azul.core.field_types import (
    LONG_MAX,
    LONG_MIN,
    FieldType,
    Range,
    Value,
    canonical_json,
    check_text,
    is_finite,
)
from azul.errors import InvalidFilterError

__all__ = ['LONG_MAX', 'LONG_MIN', 'FieldType', 'Range', 'Value', 'canonical_json',
           'check_text', 'is_finite', 'ObjectShape', 'Field', 'FieldRegistry',
           'AccessibleField']


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
        return None if value is None else self.type.normalize(value)

    def term(self, value: Value) -> Any:
        """A stored value as the API shows it in facets (`termFacets`)."""
        return None if value is None else self.type.term(value)


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
                            values[v if v.__class__ is str and field.type.textual
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
