"""
PFB (Portable Format for Biomedical data, an Avro container file) building
blocks shared by the `terra.pfb` and `verbatim.pfb` manifests: the field type
vocabulary an entity's Avro record is derived from, the boilerplate schema
every PFB has, the `Metadata` entity, entity ids and defaults, and writing
entities with fastavro.

An entity is the dict fastavro writes: `id`, `name`, `object` (a tuple
`(record name, dict)`, fastavro's notation for choosing a union branch) and
`relations` (`dst_id`, `dst_name`).
"""
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, BinaryIO
from uuid import UUID, uuid5

import attrs
import fastavro

JSON = dict[str, Any]

# Entity ids are name-based UUIDs in this namespace, so that an inner entity
# shared by many files gets one id no matter which file it is reached from,
# and a manifest of the same data gets the same ids every time (the
# original's namespace, so that ids match the original's).
ID_NAMESPACE = UUID('bc93372b-9218-4f0e-b64e-6f3b339687d6')

# Terra rejects longer entity ids
MAX_ID_LENGTH = 254


# The field type vocabulary. The original derives it from its transformers'
# field types; each class here is one of the shapes its PFB schema has.

@attrs.frozen
class Scalar:
    """One nullable primitive (`string`, `long`, `boolean`, `double`)."""
    avro: str

    def schema(self, namespace: str) -> Any:
        return ['null', self.avro]

    def default(self) -> Any:
        return None


@attrs.frozen
class Many:
    """A list of nullable primitives, as aggregation turns most fields into."""
    avro: str

    def schema(self, namespace: str) -> Any:
        return {'type': 'array', 'items': ['null', self.avro]}

    def default(self) -> Any:
        # The original's default for a missing list of primitives: one null
        return [None]


@attrs.frozen
class Uuid:
    """A UUID string that is never null (a file's `uuid`)."""

    def schema(self, namespace: str) -> Any:
        return ['string']

    def default(self) -> Any:
        return None


@attrs.frozen
class ValueAndUnit:
    """A list of `{value, unit}` objects or nulls (e.g. a donor's age)."""

    def default(self) -> Any:
        return [None]


@attrs.frozen
class Ranges:
    """A list of numeric intervals `[lo, hi]` (e.g. a donor's age range)."""

    def schema(self, namespace: str) -> Any:
        return {'type': 'array', 'items': {'type': 'array', 'items': 'double'}}

    def default(self) -> Any:
        return []

    @staticmethod
    def pair(value: Any) -> list[float]:
        # Our documents hold a range as the `{gte, lte}` of its index
        # mapping, the original's PFB as the pair `[lo, hi]`
        if isinstance(value, Mapping):
            return [value['gte'], value['lte']]
        lo, hi = value
        return [lo, hi]


@attrs.frozen
class Records:
    """A list of objects whose fields have types of their own."""
    fields: Mapping[str, 'FieldType']

    def default(self) -> Any:
        return []


FieldType = Scalar | Many | Uuid | ValueAndUnit | Ranges | Records
FieldTypes = Mapping[str, FieldType]


def field_schema(name: str, type_: FieldType, namespace: str) -> JSON:
    """
    The Avro field of `name` inside the record at `namespace` (the dotted path
    of entity type and enclosing fields). Like the original, every field
    carries its namespace, and records are named by field within it, which
    keeps the names of, e.g., `matrices.file` and `contributed_analyses.file`
    apart.
    """
    field: JSON = {'name': name, 'namespace': namespace}
    if isinstance(type_, Records):
        inner = f'{namespace}.{name}'
        field['type'] = {'type': 'array',
                         'items': {'name': name, 'namespace': namespace, 'type': 'record',
                                   'fields': record_fields(type_.fields, inner)}}
    elif isinstance(type_, ValueAndUnit):
        inner = f'{namespace}.{name}'
        record = {'name': name, 'namespace': namespace, 'type': 'record',
                  'fields': [{'name': n, 'namespace': inner, 'type': ['null', 'string']}
                             for n in ('value', 'unit')]}
        field['type'] = {'type': 'array', 'items': ['null', record]}
    else:
        field['type'] = type_.schema(namespace)
        if isinstance(type_, Uuid):
            field['logicalType'] = 'UUID'
    return field


def record_fields(field_types: FieldTypes, namespace: str) -> list[JSON]:
    return [field_schema(name, type_, namespace) for name, type_ in field_types.items()]


def entity_schema(name: str, field_types: FieldTypes) -> JSON:
    """The Avro record of the objects of one entity type (one PFB node)."""
    return {'name': name, 'namespace': '', 'type': 'record',
            'fields': record_fields(field_types, name)}


def pfb_schema(entity_schemas: Iterable[JSON]) -> JSON:
    """
    The whole PFB schema: the boilerplate every PFB has (an `Entity` record
    whose `object` is the `Metadata` record or one of the entity records, and
    whose `relations` point at other entities), as pypfb defines it, with the
    given entity records added to the `object` union.
    """
    def string_map() -> JSON:
        return {'type': 'map', 'values': 'string'}

    def array(items: JSON) -> JSON:
        return {'type': 'array', 'items': items}

    link = {'type': 'record', 'name': 'Link', 'fields': [
        {'name': 'multiplicity',
         'type': {'type': 'enum', 'name': 'Multiplicity',
                  'symbols': ['ONE_TO_ONE', 'ONE_TO_MANY', 'MANY_TO_ONE', 'MANY_TO_MANY']}},
        {'name': 'dst', 'type': 'string'},
        {'name': 'name', 'type': 'string'},
    ]}
    prop = {'type': 'record', 'name': 'Property', 'fields': [
        {'name': 'name', 'type': 'string'},
        {'name': 'ontology_reference', 'type': 'string'},
        {'name': 'values', 'type': string_map()},
    ]}
    node = {'type': 'record', 'name': 'Node', 'fields': [
        {'name': 'name', 'type': 'string'},
        {'name': 'ontology_reference', 'type': 'string'},
        {'name': 'values', 'type': string_map()},
        {'name': 'links', 'type': array(link)},
        {'name': 'properties', 'type': array(prop)},
    ]}
    metadata = {'type': 'record', 'name': 'Metadata', 'fields': [
        {'name': 'nodes', 'type': array(node)},
        {'name': 'misc', 'type': string_map()},
    ]}
    relation = {'type': 'record', 'name': 'Relation', 'fields': [
        {'name': 'dst_id', 'type': 'string'},
        {'name': 'dst_name', 'type': 'string'},
    ]}
    return {'type': 'record', 'name': 'Entity', 'fields': [
        {'name': 'id', 'type': ['null', 'string'], 'default': None},
        {'name': 'name', 'type': 'string'},
        {'name': 'object', 'type': [metadata, *entity_schemas]},
        {'name': 'relations', 'type': array(relation), 'default': []},
    ]}


def link(dst: str, name: str | None = None, multiplicity: str = 'MANY_TO_MANY') -> JSON:
    return {'multiplicity': multiplicity, 'dst': dst, 'name': dst if name is None else name}


def metadata_entity(links: Mapping[str, Sequence[JSON]]) -> JSON:
    """
    The entity that comes first in a PFB: one node per entity type (in the
    order given) with its links to other types. Terra does not show them, but
    PFB readers expect the node list.
    """
    nodes = [{'name': name, 'ontology_reference': '', 'values': {},
              'links': list(node_links), 'properties': []}
             for name, node_links in links.items()]
    return {'id': None, 'name': 'Metadata',
            'object': ('Metadata', {'nodes': nodes, 'misc': {}}),
            'relations': []}


def _join(joiner: str, parts: Sequence[str]) -> str:
    # A part holding the joiner would make two different lists join alike
    if any(joiner in part for part in parts):
        raise ValueError(f'Cannot join {parts!r} with {joiner!r}')
    return joiner.join(parts)


def entity_id(name: str, document_ids: Sequence[str]) -> str:
    """
    `<name>.<uuid5 of the sorted document ids>.<how many>`: an aggregated
    inner entity stands for several documents (e.g. two specimens that fold
    into one), so the id covers all of them, independent of their order.
    """
    ids = sorted(document_ids)
    id_ = _join('.', [name, str(uuid5(ID_NAMESPACE, _join('_', ids))), str(len(ids))])
    if len(id_) > MAX_ID_LENGTH:
        raise ValueError(f'Entity id longer than {MAX_ID_LENGTH} characters: {id_!r}')
    return id_


def conform(field_types: FieldTypes, obj: Mapping[str, Any]) -> JSON:
    """
    `obj` with exactly the fields of the schema: missing ones get their type's
    default (as the original adds them), fields the schema lacks are left
    out, and so are the keys of nested records.
    """
    result = {}
    for name, type_ in field_types.items():
        value = obj.get(name) if name in obj else type_.default()
        if isinstance(type_, Records) and value is not None:
            value = [conform(type_.fields, item) for item in value]
        elif isinstance(type_, Ranges) and value is not None:
            value = [type_.pair(item) for item in value]
        result[name] = value
    return result


def entity(name: str, id_: str, obj: JSON, relations: Iterable[tuple[str, str]] = ()) -> JSON:
    """An entity as fastavro writes it; `relations` are `(dst_name, dst_id)` pairs."""
    return {'id': id_, 'name': name, 'object': (name, obj),
            'relations': [{'dst_id': dst_id, 'dst_name': dst_name}
                          for dst_name, dst_id in sorted(set(relations))]}


def write_entities(output: BinaryIO, schema: JSON, entities: Iterable[JSON]) -> None:
    """
    Stream `entities` into an Avro container file: fastavro consumes the
    iterable block by block, so only one block is held at a time. Validation
    names the offending record should one not match the schema.
    """
    parsed = fastavro.parse_schema(schema)
    fastavro.writer(output, parsed, entities, validator=True)
