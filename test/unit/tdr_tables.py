"""
TDR snapshot tables served from memory, for tests of the TDR bundle builders.

The fixture files (`shared/fixtures/**/*.tables.tdr.json`) hold
`{"tables": {name: {"rows": [...]}}}`; JSON columns (`content`,
`descriptor`) may be objects there, where BigQuery answers strings. Both
forms are accepted, as the builder must accept both.
"""
import json
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from azul_testing import FIXTURES

HCA_SNAPSHOT = 'd8c20944-739f-4e7d-9161-b720953432ce'
HCA_TABLES = FIXTURES / 'hca' / 'tdr-tables' / f'{HCA_SNAPSHOT}.tables.tdr.json'

Tables = dict[str, list[dict[str, Any]]]


def load_tables(path: Path = HCA_TABLES) -> Tables:
    document = json.loads(path.read_text())
    return {name: table['rows'] for name, table in document['tables'].items()}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class InMemoryHCATables:
    """`azul.plugins.repository.tdr.hca_bundles.HCATables` over rows in memory."""

    def __init__(self, tables: Mapping[str, list[Mapping[str, Any]]]):
        self.tables = tables
        self.calls: list[tuple[str, Any]] = []

    def _rows(self, table: str) -> list[Mapping[str, Any]]:
        return list(self.tables.get(table, []))

    def latest_links(self, prefix: str) -> list[Mapping[str, Any]]:
        self.calls.append(('latest_links', prefix))
        latest: dict[str, Any] = {}
        for row in self._rows('links'):
            links_id = row['links_id']
            if links_id.startswith(prefix) and row['version'] > latest.get(links_id, ''):
                latest[links_id] = row['version']
        return [{'links_id': k, 'version': v} for k, v in latest.items()]

    def links(self, links_ids: Collection[str]) -> list[Mapping[str, Any]]:
        self.calls.append(('links', sorted(links_ids)))
        return [row for row in self._rows('links') if row.get('links_id') in links_ids]

    def producers(self, output_ids: Collection[str]) -> list[Mapping[str, Any]]:
        self.calls.append(('producers', sorted(output_ids)))
        result = []
        for row in self._rows('links'):
            for link in _json(row['content'])['links']:
                if link.get('link_type') == 'process_link':
                    for output in link['outputs']:
                        if output['output_id'] in output_ids:
                            result.append({'links_id': row['links_id'],
                                           'version': row['version'],
                                           'output_id': output['output_id']})
        return result

    def entities_of(self, wanted: Mapping[str, Collection[str]]
                    ) -> dict[str, list[Mapping[str, Any]]]:
        return {table: self.entities(table, ids) for table, ids in wanted.items()}

    def entities(self, table: str, ids: Collection[str]) -> list[Mapping[str, Any]]:
        self.calls.append(('entities', table, sorted(ids)))
        pk = table + '_id'
        return [row for row in self._rows(table) if row.get(pk) in ids]
