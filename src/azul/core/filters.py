"""
The `filters` parameter of the API as a typed AST, and its parser.

`{"organ": {"is": ["brain", null]}, "organismAgeRange": {"within": [[0, 1e9]]}}`
becomes `Filters((Is(organ, ('brain', None)), Within(organismAgeRange, ...)))`.
Fields are ANDed. The values of `is` are ORed; the ranges of `within`,
`contains` and `intersects` are ANDed, as in the original Azul (each range is
a query of its own there), so `{"within": [[1, 5], [5, 10]]}` selects 5.

Validation follows the original's JSON schema of the `filters` parameter and
words its errors as the original does (`jsonschema`'s messages with the JSON
path of the offending value), e.g. `The value of the `filters` parameter is
invalid against the schema: [] should be non-empty at path $.accessions.is`.
Every invalid input raises `InvalidFilterError`, as does one beyond the
`Limits` (`azul.core.limits`), checked first. Backends translate the AST;
`matches` is the reference semantics they must agree with (the conformance
tests check them against it).
"""
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from azul.core.field_types import SchemaViolation as _Invalid
from azul.core.field_types import check_additional as _check_additional
from azul.core.field_types import check_array as _check_array
from azul.core.field_types import child_path as _child
from azul.core.field_types import json_type_names as _json_type
from azul.core.fields import Field, FieldRegistry, Range, Value
from azul.core.limits import Limits, exceeded, json_depth
from azul.errors import InvalidFilterError


@attrs.frozen
class Is:
    """
    Any value of the document equals any of `values`; None matches null. A
    `negated` term matches exactly the documents the plain one does not: no
    client writes one, the service does to select entities of sources the
    caller cannot read (the original's internal `is_not`).
    """
    field: Field
    values: tuple[Value, ...]
    negated: bool = False


# The bounds of a `within` range: numbers, or date strings for date fields
Bounds = Range | tuple[str, str]


@attrs.frozen
class Within:
    """
    For every one of `ranges`, some value lies within it (inclusive). For
    range fields: some of the document's intervals lies entirely within it.
    """
    field: Field
    ranges: tuple[Bounds, ...]


@attrs.frozen
class Contains:
    """Range fields: for every one of `ranges`, some interval contains it."""
    field: Field
    ranges: tuple[Range, ...]


@attrs.frozen
class Intersects:
    """Range fields: for every one of `ranges`, some interval overlaps it."""
    field: Field
    ranges: tuple[Range, ...]


Term = Is | Within | Contains | Intersects


@attrs.frozen
class Filters:
    terms: tuple[Term, ...] = ()
    #: Terms that bound everything a request sees, hits and every facet's
    #: counts alike: no facet ignores them (the caller's readable sources, see
    #: `azul.auth.reify`). Not part of the API form.
    scope: tuple[Term, ...] = ()

    def without(self, field_name: str) -> 'Filters':
        """
        The filters a facet's counts are computed under: all but the facet's
        own, so that a selected term does not hide its siblings.
        """
        return Filters(tuple(t for t in self.terms if t.field.name != field_name), self.scope)

    def fields(self) -> tuple[str, ...]:
        """The fields with a term of their own (not the scope's)."""
        return tuple(t.field.name for t in self.terms)

    def all_terms(self) -> tuple[Term, ...]:
        """Every term a document must match: the filters' and the scope's."""
        return self.terms + self.scope

    def groups(self) -> dict[str, list[Term]]:
        """
        Every term by what a facet may skip: its field's name, or
        `SCOPE_GROUP` for the scope's terms, which no facet skips.
        """
        result: dict[str, list[Term]] = {}
        for term in self.terms:
            result.setdefault(term.field.name, []).append(term)
        if self.scope:
            result[SCOPE_GROUP] = list(self.scope)
        return result

    def to_json(self) -> dict[str, Any]:
        """The API form, for pagination links."""
        result = {}
        for term in self.terms:
            assert not (isinstance(term, Is) and term.negated), term
            relation = _relation_names[type(term)]
            if isinstance(term, Is):
                values = [None if v is None else term.field.type.filter_json(v)
                          for v in term.values]
            else:
                values = [_json_number(r) for r in term.ranges]
            result[term.field.name] = {relation: values}
        return result

    def __bool__(self) -> bool:
        return bool(self.terms or self.scope)


# Not a field name: those are identifiers
SCOPE_GROUP = ' scope'


_relation_names = {Is: 'is', Within: 'within', Contains: 'contains', Intersects: 'intersects'}
_relation_types = {v: k for k, v in _relation_names.items()}
# The order in which the original's schema lists the relations of a field
_relation_order = ('is', 'within', 'contains', 'intersects')


def _json_number(r: Bounds) -> list[Any]:
    return [int(x) if isinstance(x, float) and x.is_integer() else x for x in r]


def _error(e: _Invalid) -> InvalidFilterError:
    return InvalidFilterError(f'The value of the `filters` parameter is invalid against '
                              f'the schema: {e.message} at path {e.path}')


def parse_filters(filters: str | Mapping | None, registry: FieldRegistry,
                  limits: Limits = Limits()) -> Filters:
    """The filters of a JSON text, or of a mapping (already decoded)."""
    if filters is None or filters == '':
        return Filters()
    if isinstance(filters, str):
        depth = json_depth(filters)
        if depth > limits.json_depth:
            raise InvalidFilterError(exceeded("The 'filters' parameter is nested too deeply",
                                              f'{depth} levels', limits.json_depth,
                                              'AZUL_MAX_JSON_DEPTH', ' levels'))
        try:
            filters = json.loads(filters)
        except json.JSONDecodeError:
            raise InvalidFilterError("The 'filters' parameter is not valid JSON") from None
    return decode_filters(filters, registry, limits)


def decode_filters(filters: Any, registry: FieldRegistry, limits: Limits = Limits()) -> Filters:
    """The filters of a decoded JSON value."""
    _check_limits(filters, limits)
    try:
        _check_filters(filters, registry)
    except _Invalid as e:
        raise _error(e) from None
    terms = []
    for name, body in filters.items():
        field = registry[name]
        [(relation, values)] = body.items()
        path = _child(_child('$', name), relation)
        if relation == 'is':
            terms.append(Is(field, tuple(_parse_is(field, v) for v in values)))
        else:
            ranges = tuple(_parse_range(field, relation, v, f'{path}[{i}]')
                           for i, v in enumerate(values))
            terms.append(_relation_types[relation](field, ranges))
    return Filters(tuple(terms))


def _check_limits(filters: Any, limits: Limits) -> None:
    """
    Count the values before validating them, so that validation too is
    bounded: per field, the values of `is` and, of all fields together, the
    ranges and all values. Whatever is not shaped like filters is left to the
    validation.
    """
    if not isinstance(filters, Mapping):
        return
    ranges, total = 0, 0
    for name, body in filters.items():
        if not isinstance(body, Mapping):
            continue
        for relation, values in body.items():
            if not isinstance(values, list):
                continue
            total += len(values)
            if relation == 'is':
                if len(values) > limits.filter_terms:
                    raise InvalidFilterError(exceeded(
                        f'Too many values in the `is` filter of field `{name}`',
                        len(values), limits.filter_terms, 'AZUL_MAX_FILTER_TERMS'))
            else:
                ranges += len(values)
    if ranges > limits.filter_ranges:
        raise InvalidFilterError(exceeded('Too many ranges in the `filters` parameter, '
                                          'all fields together', ranges, limits.filter_ranges,
                                          'AZUL_MAX_FILTER_RANGES'))
    if total > limits.filter_values:
        raise InvalidFilterError(exceeded('Too many values in the `filters` parameter, '
                                          'all fields together', total, limits.filter_values,
                                          'AZUL_MAX_FILTER_VALUES'))


# Validation against the original's schema of `filters`. The checks run in the
# order in which `jsonschema` evaluates that schema, and the first failure is
# the error, as in the original: an object's `type`, then its `properties` (in
# the schema's order: field names sorted), `required`, `additionalProperties`;
# an array's `type`, `items`, `minItems`, `maxItems`.

def _check_filters(filters: Any, registry: FieldRegistry) -> None:
    if not isinstance(filters, Mapping):
        raise _Invalid(f'{filters!r} is not of type {_json_type("object")}', '$')
    for field in sorted(registry, key=lambda f: f.name):
        if field.name in filters:
            _check_field(field, filters[field.name], _child('$', field.name))
    _check_additional(filters, registry, '$')


def _check_field(field: Field, body: Any, path: str) -> None:
    relations = [r for r in _relation_order if r in field.type.relations]
    if len(relations) == 1:
        _check_relation(field, relations[0], body, path)
    else:
        # The original's schema is a `oneOf` of one schema per relation
        for relation in relations:
            try:
                _check_relation(field, relation, body, path)
            except _Invalid:
                continue
            else:
                return
        raise _Invalid(f'{body!r} is not valid under any of the given schemas', path)


def _check_relation(field: Field, relation: str, body: Any, path: str) -> None:
    if not isinstance(body, Mapping):
        raise _Invalid(f'{body!r} is not of type {_json_type("object")}', path)
    if relation in body:
        values = body[relation]
        values_path = _child(path, relation)
        shape = field.shape
        partial = relation == 'is' and shape is not None and shape.partial
        _check_array(values, values_path, min_items=1, max_items=1 if partial else None,
                     item=lambda v, p: _check_value(field, relation, v, p))
    else:
        raise _Invalid(f'{relation!r} is a required property', path)
    _check_additional(body, (relation,), path)


# What a single value may be is its field type's to say; the structure around
# the values is checked here
def _check_value(field: Field, relation: str, value: Any, path: str) -> None:
    if relation == 'is':
        field.type.check_is(field, value, path)
    else:
        field.type.check_bounds(relation, value, path)


def filters_schema(fields: Sequence[Field]) -> dict[str, Any]:
    """
    The OpenAPI 3.0 schema of the `filters` parameter that `parse_filters`
    enforces: the original's schema, except that boolean values may also be
    the strings "true" and "false", and that `within` bounds of dates must
    have the original's date form.
    """
    return {
        'type': 'object',
        'properties': {f.name: field_filter_schema(f)
                       for f in sorted(fields, key=lambda f: f.name)},
        'additionalProperties': False,
    }


def field_filter_schema(field: Field) -> dict[str, Any]:
    """The schema of one field's filter, `{relation: [values]}`."""
    relations = [r for r in _relation_order if r in field.type.relations]
    schemas = [_relation_schema(field, r) for r in relations]
    return schemas[0] if len(schemas) == 1 else {'oneOf': schemas}


def _relation_schema(field: Field, relation: str) -> dict[str, Any]:
    shape = field.shape
    items = field.type.is_schema(field) if relation == 'is' else field.type.bounds_schema(relation)
    values: dict[str, Any] = {'type': 'array', 'items': items, 'minItems': 1}
    if relation == 'is' and shape is not None and shape.partial:
        values['maxItems'] = 1
    return {'type': 'object', 'properties': {relation: values}, 'required': [relation],
            'additionalProperties': False}


def _parse_is(field: Field, value: Any) -> Value:
    if value is None:
        return None
    try:
        return field.type.parse_is(value)
    except ValueError as e:
        raise InvalidFilterError(f'Invalid value for field {field.name!r}: {e}') from None


def _parse_range(field: Field, relation: str, value: Any, path: str) -> Bounds:
    """A range the schema accepted, as the AST holds it."""
    bounds = field.type.parse_bounds(relation, value, path)
    if bounds[0] > bounds[1]:
        raise InvalidFilterError(f'Invalid range {value!r} for field {field.name!r}: '
                                 f'the lower bound exceeds the upper bound')
    return bounds


def matches(term: Term, values: Sequence[Value]) -> bool:
    """The reference semantics of one term against a document's values."""
    if isinstance(term, Is):
        return any(v in term.values for v in values) != term.negated
    present = [v for v in values if v is not None]
    test = term.field.type.range_test(_relation_names[type(term)])
    # Every range must be met, each by any value
    return all(any(test(v, r) for v in present) for r in term.ranges)


def filter_matches(filters: Filters, fields: Mapping[str, Sequence[Value]]) -> bool:
    return all(matches(term, fields[term.field.name]) for term in filters.all_terms())
