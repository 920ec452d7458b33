"""
How aggregates and contributions are laid out in OpenSearch: index settings,
explicit mappings, and the conversion between a field projection
(`FieldRegistry.extract`) and the stored source.

An aggregate document has four parts:

  entity_id    keyword; the tie-breaker of every sort (we never sort on `_id`)
  document     `Aggregate.to_json()`, stored but not indexed (`enabled: false`),
               so that hits return it unchanged
  fields       the projection, one property per registered field, holding only
               the non-null values: keyword for keyword, date and object (the
               canonical JSON string), long, double, boolean, `double_range`
  nulls        keyword: the names of the fields whose projection contains None

Null handling: rather than a sentinel value per type (which would leak into
sums, ranges and cardinalities, and could collide with a real value), a field
holding None lists its name in `nulls`. `is: [null]` becomes a term query on
`nulls`, the null facet count and the null bucket of a summary a filter
aggregation on it. A document whose only value is None simply has no value
under `fields`, so it sorts last (`missing: _last`) and is ignored by `sum`,
`cardinality` and ranges, exactly as the reference semantics demand.

Range fields cannot be sorted or term-aggregated in OpenSearch, so each one
has two companions: `range_lower.<name>` (double, the lower bounds, for sorting)
and `range_key.<name>` (keyword, the canonical `[lo, hi]` JSON, for `is`,
facets, cardinality and summary terms).

Field names may contain dots, which OpenSearch would read as object paths, so
property names escape `%` and `.` (see `prop`).

`facet_terms` (keyword) holds every term of every facet of the document as
`<field name><TAB><JSON value>`, null included (`organ\t"brain"`,
`organ\tnull`, `cells\t3.0`), so that one `terms` aggregation counts the
terms of all facets at once: a page with every facet took 25 aggregations of
about 10 ms each at 100,000 documents (profiled on a busy machine), the one
aggregation about as long as six of them. The facets and their types are in
the mapping's `_meta`, from which a writer, which has no field registry,
learns them.
"""
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from azul.core.documents import Contribution, IndexedAggregate
from azul.core.fields import Field, FieldRegistry, FieldType, Range, Value


def prop(field: Field | str) -> str:
    """The property name of a field under `fields` (and its range companions)."""
    return _escaped(field if isinstance(field, str) else field.name)


@functools.lru_cache(maxsize=4096)
def _escaped(name: str) -> str:
    # Cached: a document written asks for every one of its fields' names
    return name.replace('%', '%25').replace('.', '%2E')


def value_path(field: Field) -> str:
    """Where range queries, `exists` and sums look."""
    return f'fields.{prop(field)}'


def term_path(field: Field) -> str:
    """Where term queries and term aggregations look."""
    return f'{field.type.opensearch_terms}.{prop(field)}'


def sort_path(field: Field) -> str:
    return f'{field.type.opensearch_sort}.{prop(field)}'


NULLS = 'nulls'
ENTITY_ID = 'entity_id'

# Marks a contribution of a notification handled while a reindex built its generation
LATE = 'late'
FACET_TERMS = 'facet_terms'


def index_settings(shards: int, replicas: int) -> dict[str, Any]:
    return {'index': {'number_of_shards': shards, 'number_of_replicas': replicas}}


def aggregate_mappings(registry: FieldRegistry) -> dict[str, Any]:
    fields = {prop(f): f.type.opensearch_mapping() for f in registry}
    companions: dict[str, dict[str, Any]] = {'range_lower': {}, 'range_key': {}}
    for f in registry:
        for name, mapping in f.type.opensearch_companions.items():
            companions[name][prop(f)] = dict(mapping)
    return {
        'dynamic': 'strict',
        '_meta': {'facets': {f.name: f.type.value for f in registry.facets}},
        'properties': {
            ENTITY_ID: {'type': 'keyword'},
            'document': {'type': 'object', 'enabled': False},
            NULLS: {'type': 'keyword'},
            # Every page counts it: its global ordinals are built at refresh,
            # not by the first search after one
            FACET_TERMS: {'type': 'keyword', 'eager_global_ordinals': True},
            'fields': {'type': 'object', 'dynamic': 'strict', 'properties': fields},
            **{name: {'type': 'object', 'dynamic': 'strict', 'properties': properties}
               for name, properties in companions.items()},
        }
    }


def contribution_mappings() -> dict[str, Any]:
    keyword = {'type': 'keyword'}
    return {
        'dynamic': 'strict',
        'properties': {
            # The document id repeated, because sorting on `_id` is deprecated
            'contribution_id': keyword,
            'entity_type': keyword,
            ENTITY_ID: keyword,
            'bundle_uuid': keyword,
            'bundle_version': keyword,
            'source': keyword,
            'deleted': {'type': 'boolean'},
            'contents': {'type': 'object', 'enabled': False},
            # Written by an incremental writer into a generation a reindex
            # was building (see the backend): its entity is folded again
            LATE: {'type': 'boolean'},
        }
    }


def contribution_source(contribution: Contribution) -> dict[str, Any]:
    return {'contribution_id': contribution.id, **contribution.to_json()}


def range_key(value: Range) -> str:
    return FieldType.range.opensearch_term(value)


def _facet_terms(doc: IndexedAggregate, facets: Mapping[str, FieldType]) -> list[str]:
    """`<field name><TAB><JSON value>` of every value of every facet."""
    terms = []
    for name, kind in facets.items():
        prefix, encode = name + '\t', kind.encode_facet_term
        terms += [prefix + ('null' if v is None else encode(v)) for v in doc.fields.get(name, ())]
    # Values are distinct, but may encode alike (`1` and `1.0` of a double field)
    return list(dict.fromkeys(terms))


def parse_facet_terms(terms: Sequence[str]) -> list[tuple[str, Any]]:
    """The field name and the JSON value of each facet term, see `from_key`."""
    parts = [term.partition('\t') for term in terms]
    # One parse of all values: a page has thousands of terms
    values = '[' + ','.join(value for _, _, value in parts) + ']'
    try:
        values = orjson.loads(values)
    except orjson.JSONDecodeError:
        # What orjson refuses but `_facet_terms` may write: NaN, integers beyond 64 bits
        values = json.loads(values)
    return [(name, value) for (name, _, _), value in zip(parts, values, strict=True)]


def aggregate_source(doc: IndexedAggregate,
                     facets: Mapping[str, FieldType] | None = None) -> dict[str, Any]:
    """
    `facets`, the facets of the index (name and type), are the fields listed
    in `facet_terms`.
    """
    # Only ranges need a type-specific layout, and only they are tuples, so the
    # projection alone suffices: a writer need not hold the field registry.
    fields: dict[str, Any] = {}
    lower: dict[str, Any] = {}
    keys: dict[str, Any] = {}
    nulls = []
    for name, values in doc.fields.items():
        if None in values:
            nulls.append(name)
        present = [v for v in values if v is not None]
        if not present:
            continue
        p = prop(name)
        if isinstance(present[0], tuple):
            fields[p] = [{'gte': lo, 'lte': hi} for lo, hi in present]
            lower[p] = [lo for lo, _ in present]
            keys[p] = [range_key(v) for v in present]
        else:
            fields[p] = present
    return {
        ENTITY_ID: doc.entity_id,
        'document': doc.aggregate.to_json(),
        NULLS: nulls,
        FACET_TERMS: _facet_terms(doc, facets or {}),
        'fields': fields,
        'range_lower': lower,
        'range_key': keys,
    }


def source_values(field: Field, source: Mapping[str, Any]) -> tuple[Value, ...]:
    """The projection of one field, read back from a stored source."""
    stored = source.get('fields', {}).get(prop(field), [])
    values: list[Value] = [field.type.from_opensearch_source(v) for v in stored]
    if field.name in source.get(NULLS, ()):
        values.append(None)
    return tuple(values)


def from_key(field: Field, key: Any) -> Value:
    """
    A value as OpenSearch returns it (a source value or an aggregation bucket
    key) or as a facet term holds it, in the canonical form of the projection.
    """
    return field.type.from_opensearch(key)
