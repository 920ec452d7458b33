"""
The `tdr_hca` repository plugin: HCA bundles from a Terra Data Repository
snapshot in BigQuery, as the original Azul's `tdr_hca` plugin reads them.

A source is a TDR source spec (`azul.plugins.repository.tdr.spec`): the
snapshot's Google project and BigQuery dataset, and the uuid prefix of the
links documents (bundles) it covers. Bundles are listed from the links table
and built from the entity tables (`hca_bundles`); their data files are served
by TDR's DRS server, whose URIs the manifest holds.

BigQuery is reached through `BigQueryTableClient`, at AZUL_BIGQUERY_ENDPOINT
if set (the local stand-in, `azul.plugins.repository.tdr.local_bigquery`),
else at Google's with the application default credentials.
"""
import threading
from collections.abc import Mapping
from typing import Any

from azul.core.documents import BundleFQID
from azul.errors import BadRequestError
from azul.plugins.repository.base import Bundle, Listing, RepositoryPlugin, drs_object_url
from azul.plugins.repository.tdr import hca_bundles
from azul.plugins.repository.tdr.bigquery import BigQueryTableClient
from azul.plugins.repository.tdr.spec import TDRSourceSpec


class TDRHCARepository(RepositoryPlugin):

    def __init__(self, config: Any = None):
        self.endpoint = getattr(config, 'bigquery_endpoint', None)
        self._lock = threading.Lock()
        self._clients: dict[str, BigQueryTableClient] = {}

    def _tables(self, source: str) -> tuple[TDRSourceSpec, hca_bundles.SQLHCATables]:
        try:
            spec = TDRSourceSpec.parse(source)
        except ValueError as e:
            raise BadRequestError(str(e)) from None
        with self._lock:
            client = self._clients.get(spec.project)
            if client is None:
                client = BigQueryTableClient(spec.project, endpoint=self.endpoint)
                self._clients[spec.project] = client
        return spec, hca_bundles.SQLHCATables(client, f'{spec.project}.{spec.name}')

    def list_bundles(self, source: str, prefix: str = '') -> Listing:
        spec, tables = self._tables(source)
        # The spec's common prefix bounds the source; a partition narrows it
        if prefix.startswith(spec.common):
            start = prefix
        elif spec.common.startswith(prefix):
            start = spec.common
        else:
            return Listing(bundles=())
        fqids = tuple(BundleFQID(uuid, version)
                      for uuid, version in hca_bundles.list_bundles(tables, start))
        return Listing(bundles=fqids)

    def fetch_bundle(self, source: str, fqid: BundleFQID) -> Bundle:
        _, tables = self._tables(source)
        return hca_bundles.build_bundle(tables, source, fqid.uuid, fqid.version)

    def partitions(self, source: str, prefix_length: int = 1) -> list[str]:
        spec = TDRSourceSpec.parse(source)
        length = spec.partition if spec.partition is not None else prefix_length
        return [spec.common + format(i, f'0{length}x') if length else spec.common
                for i in range(16 ** length)]

    def file_url(self, source: str, descriptor: Mapping[str, Any]) -> str | None:
        # TDR serves the bytes: the DRS URI of the manifest names the object
        return drs_object_url(descriptor)

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
