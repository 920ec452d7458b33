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
from azul.core.documents import BundleFQID
from azul.plugins.repository.base import Bundle, Listing
from azul.plugins.repository.tdr import hca_bundles
from azul.plugins.repository.tdr.repository import TDRRepository


class TDRHCARepository(TDRRepository):

    def _tables(self, source: str) -> hca_bundles.SQLHCATables:
        _, client, dataset = self._snapshot(source)
        return hca_bundles.SQLHCATables(client, dataset)

    def list_bundles(self, source: str, prefix: str = '') -> Listing:
        spec, client, dataset = self._snapshot(source)
        start = self._start(spec, prefix)
        if start is None:
            return Listing(bundles=())
        tables = hca_bundles.SQLHCATables(client, dataset)
        fqids = tuple(BundleFQID(uuid, version)
                      for uuid, version in hca_bundles.list_bundles(tables, start))
        return Listing(bundles=fqids)

    def fetch_bundle(self, source: str, fqid: BundleFQID) -> Bundle:
        return hca_bundles.build_bundle(self._tables(source), source, fqid.uuid, fqid.version)
