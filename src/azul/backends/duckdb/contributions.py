"""
Contributions in DuckDB, each distinct inner entity stored once (issue 16).

Most contributions of a bundle carry the same inner entities: a file's holds
the project, the donors, the samples and protocols it descends from, and the
project's and the bundle's hold every file. Stored whole, the 50 fixture
bundles made 82 MB of JSON, written to the WAL, compressed at the checkpoint
and, for a notification, parsed again.
Per contribution index `T`:

`T`         one row per contribution (id, entity_id, bundle_uuid,
            bundle_version, deleted, source, contents); `contents` is packed:
            the JSON array `[{inner type: [key, ...], ...}]`, a key in place
            of each inner entity;
`T_inner`   (key, doc): an inner entity's JSON text under its key, the
            128-bit BLAKE2b hash of the text (a UUID column: half the bytes
            of the hex digits, and fixed-size for joins).
            `contribution_inner_table` names it, keeping the generation last.

This module packs and unpacks; the backend's contribution methods run the SQL.

A row written before this holds its contents whole, a JSON object where a
packed row has an array; a contribution whose contents are not lists of
dicts is stored whole too. Both read back as before.

A write stores each text of its batch once. A bulk load does not look for
texts stored by earlier batches (that would be a search of the table per
batch, or a unique index keyed by a random hash, the costliest kind to
maintain, see `replicas`): a text may be stored more than once, the copies
are equal and a read takes any. An upsert does skip stored texts. Texts
stay when the contributions that referred to them are replaced; dropping the
index drops them.

Reading parses each distinct text once: contributions read together share
their equal inner entities as one object (so that the fold's memo, where it
is on, folds them once: `azul.core.aggregation.shared_folds`). Treat them
as read-only.
"""
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

import attrs
import orjson

from azul.backends.base import split_generation
from azul.core.documents import Contribution


def contribution_inner_table(name: str) -> str:
    """The table of the inner entities of contribution index `name`."""
    plain, generation = split_generation(name)
    return f'{plain}_inner__{generation}' if generation else f'{plain}_inner'


def key_of(text: bytes) -> str:
    """The key of an inner entity's JSON text: 32 hex digits, as DuckDB casts to UUID."""
    return hashlib.blake2b(text, digest_size=16).hexdigest()


@attrs.frozen
class Packed:
    # The `contents` column of each contribution, in the order given
    contents: list[str]
    # The JSON text of every inner entity they refer to, by key
    docs: dict[str, str]


def pack(contributions: Iterable[Contribution]) -> Packed:
    """The contributions' contents with their inner entities replaced by keys."""
    # By identity first: a transform hands the same inner entity object to
    # every contribution of the bundle that has it, so most are serialized
    # once. The contributions hold the objects, so their ids stay unique.
    keys: dict[int, str] = {}
    docs: dict[str, str] = {}
    contents = []
    dumps = orjson.dumps
    for c in contributions:
        packed = _pack_one(c.contents, keys, docs, dumps)
        contents.append(dumps(c.contents).decode() if packed is None else packed)
    return Packed(contents, docs)


def _pack_one(contents: Mapping[str, Any], keys: dict[int, str], docs: dict[str, str],
              dumps) -> str | None:
    refs: dict[str, list[str]] = {}
    for inner_type, entities in contents.items():
        if entities.__class__ is not list:
            return None
        column = []
        for entity in entities:
            key = keys.get(id(entity))
            if key is None:
                if entity.__class__ is not dict:
                    return None
                text = dumps(entity)
                key = keys[id(entity)] = key_of(text)
                if key not in docs:
                    docs[key] = text.decode()
            column.append(key)
        refs[inner_type] = column
    return dumps([refs]).decode()


def referenced_keys(values: Iterable[Any]) -> set[str]:
    """The keys that the parsed `contents` columns refer to."""
    return {key for value in values if value.__class__ is list
            for column in value[0].values() for key in column}


def parse_docs(rows: Iterable[tuple[UUID, str]]) -> dict[str, Any]:
    """
    The parsed inner entities by key, from (key, text) rows; each parsed once,
    so that the contributions read together share them.
    """
    docs = {}
    for key, text in rows:
        key = key.hex
        # A text may be stored more than once; the copies are equal
        if key not in docs:
            docs[key] = orjson.loads(text)
    return docs


def unpack(value: Any, docs: Mapping[str, Any]) -> dict[str, Any]:
    """
    A parsed `contents` column as the contribution's contents, given the
    parsed inner entities by key (see `referenced_keys`).
    """
    if value.__class__ is not list:
        # Stored whole
        return value
    try:
        return {inner_type: [docs[key] for key in column]
                for inner_type, column in value[0].items()}
    except KeyError as e:
        raise LookupError(f'A contribution refers to inner entity {e.args[0]}, '
                          f'which is not stored') from None
