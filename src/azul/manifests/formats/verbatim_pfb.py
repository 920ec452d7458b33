"""
The `verbatim.pfb` manifest: the replicas of the `verbatim.jsonl` manifest as
PFB entities, the `Metadata` entity first, then one entity per replica (its
type as the entity's name, its entity id as the entity's id, the document as
the entity's object), with an Avro schema derived from the replicas.

The schema, as the original derives it for HCA (which has no schema of its
metadata at hand), from the shapes the documents have: one record per replica
type, whose fields are the union of the keys its documents have, each typed
by the JSON values seen under it (`null`, `boolean`, `long`, `double`,
`string`, an array of what its elements are, a record of what its objects
are). A field some documents lack, or have null, is nullable. Fields are
sorted by name, record types by name.

A plugin may declare the records of some replica types instead
(`verbatim_pfb_records`, a mapping of type to Avro record), as the original
does for AnVIL from its data model: those records are the schema of their
types whatever the documents hold (a key the record lacks is left out, a
field the document lacks is null), every declared type is a node of the
`Metadata` entity even without a replica in the manifest, and only the
other types are derived from the documents.

The schema must be complete before the first entity is written, so the
replicas are listed twice: once to derive the schema, then again to write
them. Holding them all in memory (as the original does) would cost the whole
manifest; the second listing costs the queries again. A replica that appears
between the two listings is left out: it is not described by the schema.
"""
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO

import attrs

from azul.backends.base import Replica
from azul.manifests import avro_pfb
from azul.manifests.formats.base import ManifestContext, ManifestFormat
from azul.manifests.formats.verbatim import replicas as list_replicas

JSON = dict[str, Any]

# The order of primitive branches in a union: fixed, so that the schema does
# not depend on the order in which values were seen
PRIMITIVES = ('boolean', 'long', 'double', 'string')


def _primitive(value: Any) -> str:
    # bool before int: a bool is an int to Python
    if isinstance(value, bool):
        return 'boolean'
    elif isinstance(value, int):
        return 'long'
    elif isinstance(value, float):
        return 'double'
    elif isinstance(value, str):
        return 'string'
    raise TypeError(f'Not a JSON value: {value!r}')


@attrs.define
class Shape:
    """What the JSON values seen at one position have been, folded."""
    nullable: bool = False
    primitives: set[str] = attrs.field(factory=set)
    # An array was seen; `items` is None while all of them were empty
    array: bool = False
    items: 'Shape | None' = None
    # Objects seen, and per key the shape of its values and how many objects had it
    objects: int = 0
    fields: dict[str, 'Shape'] = attrs.field(factory=dict)
    present: dict[str, int] = attrs.field(factory=dict)

    def fold(self, value: Any) -> None:
        if value is None:
            self.nullable = True
        elif isinstance(value, list):
            self.array = True
            for item in value:
                if self.items is None:
                    self.items = Shape()
                self.items.fold(item)
        elif isinstance(value, dict):
            self.objects += 1
            for key, item in value.items():
                shape = self.fields.get(key)
                if shape is None:
                    shape = self.fields[key] = Shape()
                shape.fold(item)
                self.present[key] = self.present.get(key, 0) + 1
        else:
            self.primitives.add(_primitive(value))

    def field_nullable(self, key: str) -> bool:
        return self.fields[key].nullable or self.present[key] < self.objects

    def avro(self, name: str, nullable: bool = False) -> Any:
        """The Avro type; records are named `name` (a dotted full name)."""
        branches: list[Any] = ['null'] if nullable or self.nullable else []
        branches.extend(p for p in PRIMITIVES if p in self.primitives)
        if self.array:
            # Objects both directly here and in arrays here (documents of
            # different schema versions): the two records need two names
            items_name = f'{name}_item' if self.objects else name
            items = 'null' if self.items is None else self.items.avro(items_name)
            branches.append({'type': 'array', 'items': items})
        if self.objects:
            branches.append(self.record(name))
        if not branches:
            # Only empty arrays' elements lead here, and those have none
            return 'null'
        return branches[0] if len(branches) == 1 else branches

    def record(self, name: str, namespace: str | None = None) -> JSON:
        fields = []
        for key in sorted(self.fields):
            nullable = self.field_nullable(key)
            field: JSON = {'name': key,
                           'type': self.fields[key].avro(f'{name}.{_identifier(key)}', nullable)}
            if nullable:
                field['default'] = None
            fields.append(field)
        record: JSON = {'name': name, 'type': 'record', 'fields': fields}
        if namespace is not None:
            record['namespace'] = namespace
        return record

    def conform(self, value: Any) -> Any:
        """
        `value` as the schema has it: every object with all the fields of its
        record (null for those it lacks), in the record's order.
        """
        if isinstance(value, dict):
            return {key: self.fields[key].conform(value.get(key)) for key in sorted(self.fields)}
        elif isinstance(value, list):
            assert self.items is not None or not value, value
            return [self.items.conform(item) for item in value] if value else []
        return value


def _identifier(key: str) -> str:
    # Record names are Avro names, unlike field names, which fastavro leaves
    # alone: anything but letters, digits and `_` becomes `_`
    name = re.sub(r'[^A-Za-z0-9_]', '_', key)
    return '_' + name if not name or name[0].isdigit() else name


@attrs.define
class Schema:
    """The replica types of a manifest and the shapes of their documents."""
    shapes: dict[str, Shape] = attrs.field(factory=dict)
    ids: set[str] = attrs.field(factory=set)
    #: Records declared by the plugin, by replica type
    declared: Mapping[str, JSON] = attrs.field(factory=dict)

    def add(self, replica: Replica) -> None:
        if replica.replica_type not in self.declared:
            shape = self.shapes.get(replica.replica_type)
            if shape is None:
                shape = self.shapes[replica.replica_type] = Shape()
            shape.fold(replica.contents)
        self.ids.add(replica.id)

    def names(self) -> list[str]:
        return sorted({*self.shapes, *self.declared})

    def entity_schemas(self) -> list[JSON]:
        return [self.declared[name] if name in self.declared
                else self.shapes[name].record(_identifier(name), namespace='')
                for name in self.names()]

    def metadata_entity(self) -> JSON:
        # No links between replica types (the original's `verbatim_pfb_links`
        # returns none for HCA, nor for AnVIL without relations)
        return avro_pfb.metadata_entity({name: [] for name in self.names()})

    def entity(self, replica: Replica) -> JSON:
        record = self.declared.get(replica.replica_type)
        if record is None:
            obj = self.shapes[replica.replica_type].conform(replica.contents)
            name = _identifier(replica.replica_type)
        else:
            obj = {f['name']: replica.contents.get(f['name']) for f in record['fields']}
            name = record['name']
        # The original's `verbatim_pfb_entity_id`: the replica's entity id;
        # no relations between the entities
        return avro_pfb.entity(name, replica.entity_id, obj)


def derive_schema(replicas: Iterable[Replica],
                  declared: Mapping[str, JSON] | None = None) -> Schema:
    schema = Schema(declared=declared or {})
    for replica in replicas:
        schema.add(replica)
    return schema


def entities(schema: Schema, replicas: Iterable[Replica]) -> Iterator[JSON]:
    yield schema.metadata_entity()
    for replica in replicas:
        if replica.id in schema.ids:
            yield schema.entity(replica)


class VerbatimPFBFormat(ManifestFormat):
    name = 'verbatim.pfb'
    extension = 'avro'
    content_type = 'application/octet-stream'

    def write(self, context: ManifestContext, output: BinaryIO) -> str | None:
        schema = derive_schema(list_replicas(context), context.plugin.verbatim_pfb_records)
        pfb_schema = avro_pfb.pfb_schema(schema.entity_schemas())
        avro_pfb.write_entities(output, pfb_schema, entities(schema, list_replicas(context)))
        return None

