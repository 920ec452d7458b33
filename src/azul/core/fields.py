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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
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
        # path: fields sharing a path prefix (contents.donors.*) walk it once,
        # a prefix without nodes takes its fields' fixed projection, and
        # within `shared_projections` the nodes of a prefix that an earlier
        # document had (the very same objects) take the projection then made
        result = {}
        memo = _memo.get()
        # The nodes at every prefix: contents.donors continues from contents
        walked = {(): _flatten(document)}
        for prefix, parent, part in self._steps:
            walked[prefix] = [v for n in walked[parent] if n.__class__ is dict
                              for v in _flatten(n.get(part))]
        for n, (prefix, leaves, empty) in enumerate(self._plan):
            # Only objects have fields
            nodes = [node for node in walked[prefix] if node.__class__ is dict]
            if not nodes:
                result.update(empty)
            elif memo is None or not prefix:
                result.update(_project(nodes, leaves))
            else:
                result.update(memo.project(self, n, nodes, leaves))
        return result

    @functools.cached_property
    def _steps(self) -> list[tuple[tuple[str, ...], tuple[str, ...], str]]:
        """Every prefix of a field's path below the root, its parent and its last part."""
        steps = {}
        for prefix, _, _ in self._plan:
            for i in range(1, len(prefix) + 1):
                steps.setdefault(prefix[:i], (prefix[:i], prefix[:i - 1], prefix[i - 1]))
        # Parents before their children
        return sorted(steps.values(), key=lambda step: len(step[0]))

    @functools.cached_property
    def _plan(self) -> list[tuple[tuple[str, ...], tuple['_Leaf', ...], dict[str, tuple]]]:
        """
        The fields by the path prefix they share, each field as a `_Leaf`,
        and the projection of the prefix's fields where it has no nodes.
        """
        plan: dict[tuple[str, ...], list[Field]] = {}
        for field in self.fields:
            prefix = tuple(field.path.split('.')[:-1])
            plan.setdefault(prefix, []).append(field)
        return [(prefix,
                 tuple(_Leaf.of(field) for field in fields),
                 {f.name: (None,) if f.default is None else (f.default,) for f in fields})
                for prefix, fields in plan.items()]


@attrs.frozen
class _Leaf:
    """What the projection needs of a field, looked up once."""
    name: str
    key: str
    # Whether a string value is already canonical
    textual: bool
    normalize: Callable[[Any], Value]
    # The shape of a field of partial object filters (see `ObjectShape`)
    partial: ObjectShape | None
    default: Value

    @classmethod
    def of(cls, field: Field) -> '_Leaf':
        shape = field.shape
        return cls(name=field.name, key=field.path.rpartition('.')[2],
                   textual=field.type.textual, normalize=field.normalize,
                   partial=shape if shape is not None and shape.partial else None,
                   default=field.default)


def _project(nodes: list[dict], leaves: Sequence[_Leaf]) -> dict[str, tuple[Value, ...]]:
    """The projection of the fields of one path prefix from the objects at the prefix."""
    result = {}
    for leaf in leaves:
        key, textual, normalize = leaf.key, leaf.textual, leaf.normalize
        values = {}
        for node in nodes:
            value = node.get(key)
            if value.__class__ is list:
                for v in _flatten(value):
                    values[v if textual and v.__class__ is str else normalize(v)] = None
            else:
                values[value if textual and value.__class__ is str else normalize(value)] = None
        shape = leaf.partial
        if shape is not None:
            values = {k: None for v in values if v is not None
                      for k in shape.subsets(json.loads(v))} or values
        default = leaf.default
        if default is not None and all(v is None for v in values):
            values = {default: None}
        result[leaf.name] = tuple(values) or (None,)
    return result


class _ProjectionMemo:
    """
    The projections of the nodes of a path prefix made so far, by the identity
    of the registry, of the prefix and of each node: the projection is a pure
    function of the nodes, so the very same objects project alike. The fold's
    memo (`azul.core.aggregation.shared_folds`) hands the aggregates of a
    reindex the same inner entity objects where they fold the same entities
    (a file's project, donors, samples and protocols), so most of their
    fields are projected once. Entries hold the objects their key names, so
    that no id in a key is taken by another object while the entry lives.
    """

    def __init__(self, size: int):
        self.size = size
        self.entries: dict[tuple, tuple] = {}

    def project(self, registry: 'FieldRegistry', prefix: int, nodes: list[Any],
                leaves: Sequence[_Leaf]) -> dict[str, tuple[Value, ...]]:
        key = (id(registry), prefix, *map(id, nodes))
        entry = self.entries.get(key)
        if entry is None:
            if len(self.entries) >= self.size:
                # Bounded memory; the aggregates sharing entities are mostly
                # written close together
                self.entries.clear()
            entry = self.entries[key] = (registry, nodes, _project(nodes, leaves))
        return entry[2]


_memo: ContextVar[_ProjectionMemo | None] = ContextVar('projection_memo', default=None)

# Prefixes' nodes a memo holds at most
MEMO_SIZE = 20_000


@contextmanager
def shared_projections(size: int = MEMO_SIZE) -> Iterator[None]:
    """
    Within the block (in this thread), `FieldRegistry.extract` projects the
    nodes of a path prefix that are the very same objects as an earlier
    document's once (see `_ProjectionMemo`). The projections are the same as
    without; the documents must not change while it lasts. Within an
    enclosing block, that block's memo serves.
    """
    if _memo.get() is not None:
        yield
        return
    token = _memo.set(_ProjectionMemo(size))
    try:
        yield
    finally:
        _memo.reset(token)


def _flatten(node: Any) -> list[Any]:
    # Ranges are stored as {"gte": lo, "lte": hi} objects, so every list is a
    # list of values and flattens completely.
    if node.__class__ is list:
        # A loop rather than `all` over a generator: a projection calls this
        # for every list of every node, and most hold no list
        for item in node:
            if item.__class__ is list:
                return [v for item in node for v in _flatten(item)]
        return node
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
