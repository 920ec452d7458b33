"""
What the TDR repository plugins (`tdr_hca`, `tdr_anvil`) share: a source is
a TDR source spec; its snapshot is a BigQuery dataset reached through one
`BigQueryTableClient` per Google project (at AZUL_BIGQUERY_ENDPOINT if set,
the local stand-in, else Google's with the application default
credentials); its bundles are those under the spec's common uuid prefix; and
data files are served by TDR's DRS server, whose URIs the bundles hold.
"""
import threading
from collections.abc import Mapping
from typing import Any

from azul.errors import BadRequestError
from azul.plugins.repository.base import RepositoryPlugin, drs_object_url
from azul.plugins.repository.tdr.bigquery import BigQueryTableClient
from azul.plugins.repository.tdr.spec import TDRSourceSpec

# Reading snapshot tables needs no more than BigQuery itself
BIGQUERY_SCOPE = 'https://www.googleapis.com/auth/bigquery'


class TDRRepository(RepositoryPlugin):

    def __init__(self, config: Any = None):
        self.endpoint = getattr(config, 'bigquery_endpoint', None)
        self.service_account = getattr(config, 'google_service_account', None)
        self._lock = threading.Lock()
        self._clients: dict[str, BigQueryTableClient] = {}

    def _snapshot(self, source: str) -> tuple[TDRSourceSpec, BigQueryTableClient, str]:
        """The source's spec, a client of its project and its dataset's name."""
        try:
            spec = TDRSourceSpec.parse(source)
        except ValueError as e:
            raise BadRequestError(str(e)) from None
        with self._lock:
            client = self._clients.get(spec.project)
            if client is None:
                client = BigQueryTableClient(spec.project, endpoint=self.endpoint,
                                             credentials=self._credentials())
                self._clients[spec.project] = client
        return spec, client, f'{spec.project}.{spec.name}'

    def _credentials(self, scopes: list[str] | None = None):
        if self.service_account is None:
            return None
        import json

        from google.oauth2 import service_account
        return service_account.Credentials.from_service_account_info(
            json.loads(self.service_account), scopes=scopes or [BIGQUERY_SCOPE])

    @staticmethod
    def _start(spec: TDRSourceSpec, prefix: str) -> str | None:
        """
        The uuid prefix to list for a partition `prefix` of the source: the
        spec's common prefix bounds the source, a partition narrows it; None
        if the two exclude each other.
        """
        if prefix.startswith(spec.common):
            return prefix
        elif spec.common.startswith(prefix):
            return spec.common
        else:
            return None

    def partitions(self, source: str, prefix_length: int = 1) -> list[str]:
        spec = TDRSourceSpec.parse(source)
        length = spec.partition if spec.partition is not None else prefix_length
        return [spec.common + format(i, f'0{length}x') if length else spec.common
                for i in range(16 ** length)]

    def file_url(self, source: str, descriptor: Mapping[str, Any]) -> str | None:
        # TDR serves the bytes: the DRS URI the bundle holds names the object
        return drs_object_url(descriptor)

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
