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
import re
from collections.abc import Container, Mapping, Sequence
from typing import Any

import attrs

from azul.core.fields import (
    Field,
    FieldRegistry,
    FieldType,
    ObjectShape,
    Range,
    Value,
    canonical_json,
    is_finite,
)
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
                values = [term.field.term(v) if term.field.type is not FieldType.boolean
                          else v for v in term.values]
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


class _Invalid(Exception):
    """A schema violation: the message and the JSON path of the offending value."""

    def __init__(self, message: str, path: str):
        super().__init__(message, path)
        self.message = message
        self.path = path


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


def _child(path: str, name: str) -> str:
    """The JSON path of a property, spelled as `jsonschema` spells it."""
    if _identifier_re.match(name):
        return f'{path}.{name}'
    escaped = name.replace('\\', '\\\\').replace("'", "\\'")
    return f"{path}['{escaped}']"


_identifier_re = re.compile(r'[a-zA-Z][a-zA-Z0-9_]*\Z')


def _check_additional(instance: Mapping, allowed: Container[str], path: str) -> None:
    extras = sorted({k for k in instance if k not in allowed}, key=str)
    if extras:
        verb = 'was' if len(extras) == 1 else 'were'
        names = ', '.join(repr(k) for k in extras)
        raise _Invalid(f'Additional properties are not allowed ({names} {verb} unexpected)',
                       path)


def _check_array(values: Any, path: str, *, item, min_items: int = 0,
                 max_items: int | None = None) -> None:
    if not isinstance(values, list):
        raise _Invalid(f'{values!r} is not of type {_json_type("array")}', path)
    for i, value in enumerate(values):
        item(value, f'{path}[{i}]')
    if len(values) < min_items:
        message = 'should be non-empty' if min_items == 1 else 'is too short'
        raise _Invalid(f'{values!r} {message}', path)
    if max_items is not None and len(values) > max_items:
        raise _Invalid(f'{values!r} is too long', path)


def _json_type(*names: str) -> str:
    return ', '.join(repr(n) for n in names)


def _is_type(value: Any, name: str) -> bool:
    if name == 'null':
        return value is None
    elif name == 'string':
        return isinstance(value, str)
    elif name == 'boolean':
        return isinstance(value, bool)
    elif name == 'integer':
        # As in JSON schema, 1.0 is an integer
        return (isinstance(value, int | float) and not isinstance(value, bool)
                and is_finite(value) and float(value).is_integer())
    elif name == 'number':
        # JSON has no infinities; Python's decoder makes them of 1e400
        return isinstance(value, int | float) and not isinstance(value, bool) and is_finite(value)
    elif name == 'object':
        return isinstance(value, Mapping)
    elif name == 'array':
        return isinstance(value, list)
    else:
        raise AssertionError(name)


def _check_type(value: Any, path: str, *names: str) -> None:
    if not any(_is_type(value, n) for n in names):
        raise _Invalid(f'{value!r} is not of type {_json_type(*names)}', path)


# The JSON schema type of a single `is` value and of a range bound, per field type
_scalar_types = {
    FieldType.keyword: 'string',
    FieldType.date: 'string',
    FieldType.long: 'integer',
    FieldType.double: 'number',
    FieldType.boolean: 'boolean',
    FieldType.range: 'number',
}


def _check_value(field: Field, relation: str, value: Any, path: str) -> None:
    kind = field.type
    if relation == 'is':
        if kind is FieldType.boolean and value in ('true', 'false'):
            # Not in the original's schema, but clients echo our facet terms,
            # which are strings for booleans
            return
        if kind is FieldType.object:
            _check_object(field, value, path)
        elif kind is FieldType.range:
            _check_pair(value, path, 'number')
        elif kind.numeric:
            # The original's schema for a nullable number is a union with null
            name = _scalar_types[kind]
            if not (_is_type(value, name) or (field.nullable and value is None)):
                if field.nullable:
                    raise _Invalid(f'{value!r} is not valid under any of the given schemas',
                                   path)
                raise _Invalid(f'{value!r} is not of type {_json_type(name)}', path)
        else:
            names = ('null', _scalar_types[kind]) if field.nullable else (_scalar_types[kind],)
            _check_type(value, path, *names)
    elif relation == 'contains':
        if not _is_type(value, 'number'):
            try:
                _check_pair(value, path, 'number')
            except _Invalid:
                raise _Invalid(f'{value!r} is not valid under any of the given schemas',
                               path) from None
    else:
        _check_pair(value, path, _scalar_types[kind])


def _check_pair(value: Any, path: str, name: str) -> None:
    def bound(v, p):
        _check_type(v, p, name)

    _check_array(value, path, item=bound, min_items=2, max_items=2)


def _check_object(field: Field, value: Any, path: str) -> None:
    shape = field.shape
    if shape is None:
        names = ('null', 'object') if field.nullable else ('object',)
        _check_type(value, path, *names)
    elif shape.partial:
        # The original's `nested` fields: an object, never null
        _check_properties(shape, value, path)
    else:
        # A union of null and the object in the original's schema
        try:
            if not (value is None and field.nullable):
                _check_properties(shape, value, path)
        except _Invalid:
            raise _Invalid(f'{value!r} is not valid under any of the given schemas',
                           path) from None


def _check_properties(shape: ObjectShape, value: Any, path: str) -> None:
    _check_type(value, path, 'object')
    for name in shape.properties:
        if name in value:
            names = ('null', 'string') if name in shape.nullable else ('string',)
            _check_type(value[name], _child(path, name), *names)
    for name in shape.required:
        if name not in value:
            raise _Invalid(f'{name!r} is a required property', path)
    _check_additional(value, shape.properties, path)


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


_openapi_types = {
    'string': {'type': 'string'},
    'integer': {'type': 'integer', 'format': 'int64'},
    'number': {'type': 'number', 'format': 'double'},
    'boolean': {'type': 'boolean'},
}


def _relation_schema(field: Field, relation: str) -> dict[str, Any]:
    shape = field.shape
    values: dict[str, Any] = {'type': 'array', 'items': _value_schema(field, relation),
                              'minItems': 1}
    if relation == 'is' and shape is not None and shape.partial:
        values['maxItems'] = 1
    return {'type': 'object', 'properties': {relation: values}, 'required': [relation],
            'additionalProperties': False}


def _value_schema(field: Field, relation: str) -> dict[str, Any]:
    kind = field.type
    nullable = {'nullable': True} if field.nullable else {}
    if relation == 'is':
        if kind is FieldType.object:
            shape = field.shape
            if shape is None:
                return {'type': 'object', **nullable}
            properties = {name: {'type': 'string',
                                 **({'nullable': True} if name in shape.nullable else {})}
                          for name in shape.properties}
            schema = {'type': 'object', 'properties': properties,
                      'additionalProperties': False}
            if shape.required:
                schema['required'] = list(shape.required)
            return schema if shape.partial else {**schema, **nullable}
        elif kind is FieldType.range:
            return _pair_schema(_openapi_types['number'])
        else:
            return {**_openapi_types[_scalar_types[kind]], **nullable}
    elif relation == 'contains':
        number = _openapi_types['number']
        return {'anyOf': [number, _pair_schema(number)]}
    else:
        bound = _openapi_types[_scalar_types[kind]]
        if kind is FieldType.date:
            bound = {**bound, 'pattern': '^' + _date_re.pattern + '$'}
        return _pair_schema(bound)


def _pair_schema(bound: dict[str, Any]) -> dict[str, Any]:
    return {'type': 'array', 'items': bound, 'minItems': 2, 'maxItems': 2}


def _parse_is(field: Field, value: Any) -> Value:
    if value is None:
        return None
    kind = field.type
    try:
        if kind is FieldType.boolean and isinstance(value, str):
            return value == 'true'
        elif kind is FieldType.long:
            return field.normalize(int(value))
        elif kind is FieldType.object:
            return canonical_json(value)
        else:
            return field.normalize(value)
    except ValueError as e:
        raise InvalidFilterError(f'Invalid value for field {field.name!r}: {e}') from None


def _parse_range(field: Field, relation: str, value: Any, path: str) -> Bounds:
    """A range the schema accepted, as the AST holds it."""
    if relation == 'contains' and not isinstance(value, list):
        return (float(value), float(value))
    lo, hi = value
    if field.type is FieldType.date:
        for i, bound in enumerate(value):
            if not _date_re.fullmatch(bound):
                # The original fails on these while parsing them (500); a
                # client's malformed value is a 400 here
                raise InvalidFilterError(f'The value of the `filters` parameter is invalid: '
                                         f'{bound!r} is not a date of the form '
                                         f'2021-01-31T23:59:59.000000Z at path {path}[{i}]')
        bounds: Bounds = (lo, hi)
    else:
        bounds = (float(lo), float(hi))
    if bounds[0] > bounds[1]:
        raise InvalidFilterError(f'Invalid range {value!r} for field {field.name!r}: '
                                 f'the lower bound exceeds the upper bound')
    return bounds


# The form of the original's dates (`format_dcp2_datetime`), which sort as strings
_date_re = re.compile(r'\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z')


def matches(term: Term, values: Sequence[Value]) -> bool:
    """The reference semantics of one term against a document's values."""
    if isinstance(term, Is):
        return any(v in term.values for v in values) != term.negated
    present = [v for v in values if v is not None]
    if term.field.type is FieldType.range:
        test = {
            Within: lambda v, r: r[0] <= v[0] and v[1] <= r[1],
            Contains: lambda v, r: v[0] <= r[0] and r[1] <= v[1],
            Intersects: lambda v, r: v[0] <= r[1] and r[0] <= v[1],
        }[type(term)]
    else:
        def test(v, r):
            return r[0] <= v <= r[1]
    # Every range must be met, each by any value
    return all(any(test(v, r) for v in present) for r in term.ranges)


def filter_matches(filters: Filters, fields: Mapping[str, Sequence[Value]]) -> bool:
    return all(matches(term, fields[term.field.name]) for term in filters.all_terms())
