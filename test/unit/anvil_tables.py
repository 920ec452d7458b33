"""
AnVIL snapshot tables served from memory, for tests of the AnVIL bundle
builder: `azul.plugins.repository.tdr.anvil_bundles.AnvilTables` over the
rows of a fixture tables file, answering as the SQL of `SQLAnvilTables` does.
"""
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from azul_testing import FIXTURES

ANVIL_SNAPSHOT = '6c87f0e1-509d-46a4-b845-7584df39263b'
ANVIL_DIR = FIXTURES / 'anvil'
ANVIL_TABLES = ANVIL_DIR / f'{ANVIL_SNAPSHOT}.tables.tdr.json'


class InMemoryAnvilTables:

    def __init__(self, tables: Mapping[str, list[Mapping[str, Any]]]):
        self.tables = tables
        self.calls: list[tuple[Any, ...]] = []

    def _rows(self, table: str) -> list[Mapping[str, Any]]:
        # A missing table is an error in BigQuery too
        return list(self.tables[table])

    def row_ids(self, table: str, prefix: str, supplementary: bool = False) -> list[dict]:
        self.calls.append(('row_ids', table, prefix, supplementary))
        return [{'datarepo_row_id': row['datarepo_row_id']}
                for row in self._rows(table)
                if (row.get('datarepo_row_id') or '').startswith(prefix)
                and (not supplementary or row['is_supplementary'])]

    def rows(self, table: str, column: str, values: Collection[str]) -> list[Mapping[str, Any]]:
        self.calls.append(('rows', table, column, sorted(values)))
        return [row for row in self._rows(table) if row.get(column) in values]

    def rows_containing(self, table: str, column: str,
                        values: Collection[str]) -> list[Mapping[str, Any]]:
        self.calls.append(('rows_containing', table, column, sorted(values)))
        return [row for row in self._rows(table) if set(row.get(column) or ()) & set(values)]

    def rows_containing_any(self, requests: Sequence[tuple[str, str, Collection[str]]]
                            ) -> list[list[Mapping[str, Any]]]:
        return [self.rows_containing(*request) for request in requests]

    def all_rows(self, table: str) -> list[Mapping[str, Any]]:
        self.calls.append(('all_rows', table))
        return self._rows(table)


class FakeDUOS:
    """DUOS answering one description for every dataset, recording the ids asked for."""

    def __init__(self, description: str | None):
        self.text = description
        self.asked: list[str] = []

    def description(self, dataset_id: str) -> str | None:
        self.asked.append(dataset_id)
        return self.text
