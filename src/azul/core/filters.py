"""
The `filters` parameter of the API as a typed AST, and its parser.

`{"organ": {"is": ["brain", null]}, "organismAgeRange": {"within": [[0, 1e9]]}}`
becomes `Filters((Is(organ, ('brain', None)), Within(organismAgeRange, ...)))`.
Fields are ANDed, the values of one relation ORed. Every invalid input raises
`InvalidFilterError` naming the field and the problem. Backends translate the
AST; `matches` is the reference semantics they must agree with (the
conformance tests check them against it).
"""
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from azul.core.fields import (
    Field,
    FieldRegistry,
    FieldType,
    Range,
    Value,
    canonical_json,
    is_finite,
)
from azul.errors import InvalidFilterError


@attrs.frozen
class Is:
    """Any value of the document equals any of `values`; None matches null."""
    field: Field
    values: tuple[Value, ...]


@attrs.frozen
class Within:
    """
    Any value lies within any of `ranges` (inclusive). For range fields: any
    of the document's intervals lies entirely within one of `ranges`.
    """
    field: Field
    ranges: tuple[Range, ...]


@attrs.frozen
class Contains:
    """Range fields: any of the document's intervals contains one of `ranges`."""
    field: Field
    ranges: tuple[Range, ...]


@attrs.frozen
class Intersects:
    """Range fields: any of the document's intervals overlaps one of `ranges`."""
    field: Field
    ranges: tuple[Range, ...]


Term = Is | Within | Contains | Intersects


@attrs.frozen
class Filters:
    terms: tuple[Term, ...] = ()

    def without(self, field_name: str) -> 'Filters':
        """
        The filters a facet's counts are computed under: all but the facet's
        own, so that a selected term does not hide its siblings.
        """
        return Filters(tuple(t for t in self.terms if t.field.name != field_name))

    def fields(self) -> tuple[str, ...]:
        return tuple(t.field.name for t in self.terms)

    def to_json(self) -> dict[str, Any]:
        """The API form, for pagination links."""
        result = {}
        for term in self.terms:
            relation = _relation_names[type(term)]
            if isinstance(term, Is):
                values = [term.field.term(v) if term.field.type is not FieldType.boolean
                          else v for v in term.values]
            else:
                values = [_json_number(r) for r in term.ranges]
            result[term.field.name] = {relation: values}
        return result

    def __bool__(self) -> bool:
        return bool(self.terms)


_relation_names = {Is: 'is', Within: 'within', Contains: 'contains', Intersects: 'intersects'}
_relation_types = {v: k for k, v in _relation_names.items()}


def _json_number(r: Range) -> list[int | float]:
    return [int(x) if float(x).is_integer() else x for x in r]


def parse_filters(filters: str | Mapping | None, registry: FieldRegistry) -> Filters:
    if filters is None or filters == '':
        return Filters()
    if isinstance(filters, str):
        try:
            filters = json.loads(filters)
        except json.JSONDecodeError as e:
            raise InvalidFilterError(f'The `filters` parameter is not valid JSON: {e}') from None
    if not isinstance(filters, Mapping):
        raise InvalidFilterError('The `filters` parameter must be a JSON object mapping '
                                 'field names to {relation: values}')
    terms = []
    for name, body in filters.items():
        field = registry[name]
        if not isinstance(body, Mapping) or len(body) != 1:
            raise InvalidFilterError(f'Filter for {name!r} must be an object with exactly one '
                                     f'relation, e.g. {{"is": [...]}}')
        [(relation, values)] = body.items()
        if relation not in _relation_types:
            raise InvalidFilterError(f'Unknown relation {relation!r} for field {name!r}; '
                                     f'expected one of is, within, contains, intersects')
        if relation not in field.type.relations:
            allowed = ', '.join(sorted(field.type.relations))
            raise InvalidFilterError(f'Relation {relation!r} is not allowed for field {name!r} '
                                     f'of type {field.type.value}; allowed: {allowed}')
        if not isinstance(values, list):
            raise InvalidFilterError(f'The values of {name!r} {relation!r} must be a JSON array')
        if relation == 'is':
            terms.append(Is(field, tuple(_parse_is(field, v) for v in values)))
        else:
            ranges = tuple(_parse_range(field, relation, v) for v in values)
            terms.append(_relation_types[relation](field, ranges))
    return Filters(tuple(terms))


def _parse_is(field: Field, value: Any) -> Value:
    if value is None:
        return None
    kind = field.type
    try:
        if kind is FieldType.boolean and isinstance(value, str):
            # Clients echo facet terms back, and those are strings
            if value not in ('true', 'false'):
                raise ValueError(f'expected a boolean, got {value!r}')
            return value == 'true'
        elif kind is FieldType.long and isinstance(value, str):
            return field.normalize(int(value)) if value.strip().lstrip('-').isdigit() \
                else field.normalize(value)
        elif kind is FieldType.object:
            if not isinstance(value, dict):
                raise ValueError(f'expected an object, got {value!r}')
            return canonical_json(value)
        else:
            return field.normalize(value)
    except ValueError as e:
        raise InvalidFilterError(f'Invalid value for field {field.name!r}: {e}') from None


def _parse_range(field: Field, relation: str, value: Any) -> Range:
    def number(b: Any) -> bool:
        return isinstance(b, int | float) and not isinstance(b, bool) and is_finite(b)

    if field.type.numeric or field.type is FieldType.range:
        if field.type is FieldType.range and relation == 'contains' and number(value):
            return (float(value), float(value))
        if isinstance(value, list) and len(value) == 2 and all(number(b) for b in value):
            lo, hi = value
            if lo > hi:
                raise InvalidFilterError(f'Invalid range {value!r} for field {field.name!r}: '
                                         f'the lower bound exceeds the upper bound')
            return (float(lo), float(hi))
    raise InvalidFilterError(f'Invalid value {value!r} for {field.name!r} {relation!r}: '
                             f'expected a range [lo, hi] of two finite numbers')


def matches(term: Term, values: Sequence[Value]) -> bool:
    """The reference semantics of one term against a document's values."""
    if isinstance(term, Is):
        return any(v in term.values for v in values)
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
    return any(test(v, r) for v in present for r in term.ranges)


def filter_matches(filters: Filters, fields: Mapping[str, Sequence[Value]]) -> bool:
    return all(matches(term, fields[term.field.name]) for term in filters.terms)
