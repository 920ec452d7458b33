"""
The `tdr_anvil` repository plugin: AnVIL bundles from a Terra Data Repository
snapshot in BigQuery, made up from its tables as the original Azul's
`tdr_anvil` plugin made them (`anvil_bundles`).

A source is a TDR source spec (`azul.plugins.repository.tdr.spec`): the
snapshot's Google project and BigQuery dataset, and the uuid prefix of the
bundles it covers. Every bundle has the version `anvil_bundles.FIXED_VERSION`.
Data files are served by TDR's DRS server, named by the files' `drs_uri`.

DUOS bundles (a dataset's description) are listed only if the plugin has a
`DUOSClient`, given or made from AZUL_DUOS_URL (`duos.TerraDUOS`): without
one there is nothing to put in them.
"""
from typing import Any

from azul.core.documents import BundleFQID
from azul.errors import NotFoundError
from azul.plugins.repository.base import Bundle, Listing
from azul.plugins.repository.tdr import anvil_bundles
from azul.plugins.repository.tdr.duos import SCOPES, TerraDUOS
from azul.plugins.repository.tdr.repository import TDRRepository


class TDRAnvilRepository(TDRRepository):

    def __init__(self, config: Any = None, duos: anvil_bundles.DUOSClient | None = None):
        super().__init__(config)
        self.duos = duos
        duos_url = getattr(config, 'duos_url', None)
        self._terra = (TerraDUOS(config.tdr_url, duos_url, self._credentials(SCOPES))
                       if duos is None and duos_url else None)

    def _duos(self, spec) -> anvil_bundles.DUOSClient | None:
        return self.duos if self._terra is None else self._terra.for_source(spec)

    def close(self) -> None:
        if self._terra is not None:
            self._terra.close()
        super().close()

    def list_bundles(self, source: str, prefix: str = '') -> Listing:
        spec, client, dataset = self._snapshot(source)
        start = self._start(spec, prefix)
        if start is None:
            return Listing(bundles=())
        tables = anvil_bundles.SQLAnvilTables(client, dataset)
        uuids = anvil_bundles.list_bundles(tables, start, duos=self._duos(spec) is not None)
        return Listing(bundles=tuple(BundleFQID(uuid, anvil_bundles.FIXED_VERSION)
                                     for uuid in uuids))

    def fetch_bundle(self, source: str, fqid: BundleFQID) -> Bundle:
        spec, client, dataset = self._snapshot(source)
        if not fqid.uuid.startswith(spec.common):
            # Another source's bundle, even if this snapshot holds its root row
            raise NotFoundError(f'No bundle {fqid.uuid} in {source}')
        tables = anvil_bundles.SQLAnvilTables(client, dataset)
        return anvil_bundles.build_bundle(tables, source, fqid.uuid, fqid.version,
                                          self._duos(spec))
