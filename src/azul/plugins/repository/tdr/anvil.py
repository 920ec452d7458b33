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
from typing import Any

from azul.core.documents import BundleFQID
from azul.errors import NotFoundError
from azul.plugins.repository.base import Bundle, Listing
from azul.plugins.repository.tdr import anvil_bundles
from azul.plugins.repository.tdr.repository import TDRRepository


class TDRAnvilRepository(TDRRepository):

    def __init__(self, config: Any = None, duos: anvil_bundles.DUOSClient | None = None):
        super().__init__(config)
        self.duos = duos

    def list_bundles(self, source: str, prefix: str = '') -> Listing:
        spec, client, dataset = self._snapshot(source)
        start = self._start(spec, prefix)
        if start is None:
            return Listing(bundles=())
        tables = anvil_bundles.SQLAnvilTables(client, dataset)
        uuids = anvil_bundles.list_bundles(tables, start, duos=self.duos is not None)
        return Listing(bundles=tuple(BundleFQID(uuid, anvil_bundles.FIXED_VERSION)
                                     for uuid in uuids))

    def fetch_bundle(self, source: str, fqid: BundleFQID) -> Bundle:
        spec, client, dataset = self._snapshot(source)
        if not fqid.uuid.startswith(spec.common):
            # Another source's bundle, even if this snapshot holds its root row
            raise NotFoundError(f'No bundle {fqid.uuid} in {source}')
        tables = anvil_bundles.SQLAnvilTables(client, dataset)
        return anvil_bundles.build_bundle(tables, source, fqid.uuid, fqid.version, self.duos)
