"""
The `tdr_anvil` repository plugin: AnVIL bundles from a Terra Data Repository
snapshot in BigQuery, made up from its tables as the original Azul's
`tdr_anvil` plugin made them (`anvil_bundles`).

A source is a TDR source spec (`azul.plugins.repository.tdr.spec`): the
snapshot's Google project and BigQuery dataset, and the uuid prefix of the
bundles it covers. Every bundle has the version `anvil_bundles.FIXED_VERSION`.
Data files are served by TDR's DRS server, named by the files' `drs_uri`.

DUOS bundles (a dataset's description) are listed only if the plugin is
given a `DUOSClient`: without one there is nothing to put in them.
"""
import threading
from collections.abc import Mapping
from typing import Any

from azul.core.documents import BundleFQID
from azul.errors import BadRequestError, NotFoundError
from azul.plugins.repository.base import Bundle, Listing, RepositoryPlugin, drs_object_url
from azul.plugins.repository.tdr import anvil_bundles
from azul.plugins.repository.tdr.bigquery import BigQueryTableClient
from azul.plugins.repository.tdr.spec import TDRSourceSpec


class TDRAnvilRepository(RepositoryPlugin):

    def __init__(self, config: Any = None, duos: anvil_bundles.DUOSClient | None = None):
        self.endpoint = getattr(config, 'bigquery_endpoint', None)
        self.duos = duos
        self._lock = threading.Lock()
        self._clients: dict[str, BigQueryTableClient] = {}

    def _tables(self, source: str) -> tuple[TDRSourceSpec, anvil_bundles.SQLAnvilTables]:
        try:
            spec = TDRSourceSpec.parse(source)
        except ValueError as e:
            raise BadRequestError(str(e)) from None
        with self._lock:
            client = self._clients.get(spec.project)
            if client is None:
                client = BigQueryTableClient(spec.project, endpoint=self.endpoint)
                self._clients[spec.project] = client
        return spec, anvil_bundles.SQLAnvilTables(client, f'{spec.project}.{spec.name}')

    def list_bundles(self, source: str, prefix: str = '') -> Listing:
        spec, tables = self._tables(source)
        # The spec's common prefix bounds the source; a partition narrows it
        if prefix.startswith(spec.common):
            start = prefix
        elif spec.common.startswith(prefix):
            start = spec.common
        else:
            return Listing(bundles=())
        uuids = anvil_bundles.list_bundles(tables, start, duos=self.duos is not None)
        return Listing(bundles=tuple(BundleFQID(uuid, anvil_bundles.FIXED_VERSION)
                                     for uuid in uuids))

    def fetch_bundle(self, source: str, fqid: BundleFQID) -> Bundle:
        spec, tables = self._tables(source)
        if not fqid.uuid.startswith(spec.common):
            # Another source's bundle, even if this snapshot holds its root row
            raise NotFoundError(f'No bundle {fqid.uuid} in {source}')
        return anvil_bundles.build_bundle(tables, source, fqid.uuid, fqid.version, self.duos)

    def partitions(self, source: str, prefix_length: int = 1) -> list[str]:
        spec = TDRSourceSpec.parse(source)
        length = spec.partition if spec.partition is not None else prefix_length
        return [spec.common + format(i, f'0{length}x') if length else spec.common
                for i in range(16 ** length)]

    def file_url(self, source: str, descriptor: Mapping[str, Any]) -> str | None:
        # TDR serves the bytes: the file entity's DRS URI names the object
        return drs_object_url(descriptor)

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
