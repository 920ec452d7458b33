"""
Identifiers and documents of the index: bundles, contributions and aggregates.

Ids are deterministic, so that writing the same contribution twice (an
at-least-once queue re-delivering a notification) overwrites rather than
duplicates.
"""
import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from azul.core.fields import Value
from azul.errors import BadRequestError

# Matched with fullmatch: `$` would also match before a trailing newline
uuid_re = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')

# Bundle versions arrive in several spellings: DSS's `2018-08-03T082009.272868Z`,
# TDR's `2019-09-24T09:35:06.958773Z`, sometimes with fewer fraction digits. We
# keep one canonical spelling so that versions compare as strings and one bundle
# never appears twice under two spellings of the same instant.
_version_re = re.compile(r'([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):?([0-9]{2}):?([0-9]{2})'
                         r'(?:\.([0-9]{1,6}))?Z')


def normalize_version(version: str) -> str:
    if not isinstance(version, str):
        raise BadRequestError(f'Invalid bundle version {version!r}: expected a UTC timestamp '
                              f'such as 2019-09-24T09:35:06.958773Z')
    return _normalize_version(version)


# Cached: the dates of a bundle's documents are parsed several times (the
# model of its transform, its replicas) and repeat across bundles
@functools.lru_cache(maxsize=65536)
def _normalize_version(version: str) -> str:
    match = _version_re.fullmatch(version)
    if match is None:
        raise BadRequestError(f'Invalid bundle version {version!r}: expected a UTC timestamp '
                              f'such as 2019-09-24T09:35:06.958773Z')
    *parts, fraction = match.groups()
    try:
        dt = datetime(*map(int, parts), tzinfo=UTC)
    except ValueError as e:
        raise BadRequestError(f'Invalid bundle version {version!r}: {e}') from None
    micros = int((fraction or '0').ljust(6, '0'))
    return format_date(dt.replace(microsecond=micros))


def format_date(dt: datetime) -> str:
    """The one date format of documents: ISO 8601, UTC, microseconds, `Z`."""
    return dt.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def validate_uuid(value: Any, what: str = 'uuid') -> str:
    if not isinstance(value, str) or not uuid_re.fullmatch(value):
        raise BadRequestError(f'Invalid {what} {value!r}: expected a lowercase UUID')
    return value


@attrs.frozen(order=True)
class BundleFQID:
    uuid: str
    version: str

    def to_json(self) -> dict[str, str]:
        return {'uuid': self.uuid, 'version': self.version}


@attrs.frozen
class Contribution:
    """
    What one bundle says about one entity. `contents` is the plugin's
    denormalized document: inner entity type -> list of inner entities, each a
    dict with at least `document_id`.
    """
    entity_type: str
    entity_id: str
    bundle: BundleFQID
    source: str
    deleted: bool
    contents: Mapping[str, Any]

    @property
    def id(self) -> str:
        state = 'deleted' if self.deleted else 'exists'
        return f'{self.entity_id}_{self.bundle.uuid}_{self.bundle.version}_{state}'

    def to_json(self) -> dict[str, Any]:
        return {
            'entity_type': self.entity_type,
            'entity_id': self.entity_id,
            'bundle_uuid': self.bundle.uuid,
            'bundle_version': self.bundle.version,
            'source': self.source,
            'deleted': self.deleted,
            'contents': self.contents,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> 'Contribution':
        return cls(entity_type=doc['entity_type'],
                   entity_id=doc['entity_id'],
                   bundle=BundleFQID(doc['bundle_uuid'], doc['bundle_version']),
                   source=doc['source'],
                   deleted=doc['deleted'],
                   contents=doc['contents'])


@attrs.frozen
class Aggregate:
    """
    The one document per entity that the service searches: every live
    contribution folded together. `bundles` lists the contributing bundles,
    `sources` their sources.
    """
    entity_type: str
    entity_id: str
    contents: Mapping[str, Any]
    bundles: tuple[BundleFQID, ...]
    sources: tuple[str, ...]
    num_contributions: int

    def to_json(self) -> dict[str, Any]:
        return {
            'entity_id': self.entity_id,
            'contents': self.contents,
            'bundles': [b.to_json() for b in self.bundles],
            'sources': list(self.sources),
            'num_contributions': self.num_contributions,
        }

    @classmethod
    def from_json(cls, entity_type: str, doc: Mapping[str, Any]) -> 'Aggregate':
        return cls(entity_type=entity_type,
                   entity_id=doc['entity_id'],
                   contents=doc['contents'],
                   bundles=tuple(BundleFQID(**b) for b in doc['bundles']),
                   sources=tuple(doc['sources']),
                   num_contributions=doc['num_contributions'])


@attrs.frozen
class IndexedAggregate:
    """
    An aggregate as a backend stores it: the document for hits, and its
    projection onto the registered fields (see `FieldRegistry.extract`) for
    filtering, faceting, sorting and summaries.
    """
    aggregate: Aggregate
    fields: Mapping[str, tuple[Value, ...]]

    @property
    def entity_id(self) -> str:
        return self.aggregate.entity_id
