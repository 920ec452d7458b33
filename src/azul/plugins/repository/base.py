"""
The RepositoryPlugin interface: where bundles come from.

A source is a string spec whose syntax the plugin defines (for the canned
plugin a file:// or http(s):// URL). Bundles of a source are partitioned by
the leading hex digits of their uuid, so that a reindex can fan out one unit
of work per partition.
"""
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from azul.core.documents import BundleFQID


@attrs.frozen
class Bundle:
    """
    One metadata bundle as the repository hands it to a metadata plugin. The
    shape of `manifest`, `metadata` and `links` is the canned format of
    `shared/fixtures/hca/bundles` (see its README); `stitched` holds the ids
    of entities pulled in from upstream bundles.
    """
    fqid: BundleFQID
    source: str
    manifest: Mapping[str, Mapping[str, Any]]
    metadata: Mapping[str, Mapping[str, Any]]
    links: Mapping[str, Any]
    stitched: frozenset[str] = frozenset()
    # The kind of repository the bundle was taken from: `dss` (the HCA Data
    # Storage System, DRS URIs derived from file uuids and versions) or `tdr`
    # (the Terra Data Repository, DRS URIs in the manifest)
    kind: str = 'dss'


@attrs.frozen
class BundleProblem:
    """A bundle file that could not be read, and why; reported, then skipped."""
    location: str
    reason: str


@attrs.frozen
class Listing:
    bundles: tuple[BundleFQID, ...]
    problems: tuple[BundleProblem, ...] = ()


class RepositoryPlugin(ABC):

    @abstractmethod
    def list_bundles(self, source: str, prefix: str = '') -> Listing:
        """The bundles of a source whose uuid starts with `prefix`."""

    @abstractmethod
    def fetch_bundle(self, source: str, fqid: BundleFQID) -> Bundle:
        """Raises `NotFoundError` for an unknown bundle, `RepositoryError` if unreadable."""

    def partitions(self, source: str, prefix_length: int = 1) -> Sequence[str]:
        """Uuid prefixes that together cover the source."""
        return [format(i, f'0{prefix_length}x') for i in range(16 ** prefix_length)]

    @abstractmethod
    def file_url(self, source: str, descriptor: Mapping[str, Any]) -> str | None:
        """
        Where another service serves a data file (e.g. the DRS object of a
        repository that names one), given its descriptor, or None if the
        repository cannot tell. Consulted only when `file_bytes` has none.
        """

    def file_bytes(self, source: str, descriptor: Mapping[str, Any]) -> bytes | None:
        """
        The content of a data file, or None if the source holds no bytes of it.
        `descriptor` has at least the file's `uuid` and `version` (the DCP/2
        spelling); with `sha256` the bytes are checked against it, and
        `RepositoryError` says they do not match. Files are small enough to
        be held in memory: the service answers them in one response.
        """
        return None


def drs_object_url(descriptor: Mapping[str, Any]) -> str | None:
    """
    The https URL of the DRS object a file's descriptor names (the one the
    repository named, not one derived for DSS bundles), or None.
    """
    drs_uri = descriptor.get('source_drs_uri', descriptor.get('drs_uri'))
    if isinstance(drs_uri, str) and drs_uri.startswith('drs://'):
        host, _, object_id = drs_uri[len('drs://'):].partition('/')
        if host and object_id:
            return f'https://{host}/ga4gh/drs/v1/objects/{object_id}'
    return None
