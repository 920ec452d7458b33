"""
The `compact` manifest: a TSV with one row per file, as the original writes
it.

The columns come from the plugin's `manifest_config`. A cell holds the
distinct values of its field across the inner entities at the configured
path, as text, sorted, at most 100 of them, joined with ` || `. A file with
related files (the parts of a zarr store) is followed by one row per related
file: the file's row with the file columns replaced by those of the related
file.
"""
import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, BinaryIO

from azul.manifests.formats.base import ManifestContext, ManifestFormat

#: What separates the values of a cell (the original's `manifest_column_joiner`)
JOINER = '||'
#: The original keeps the first 100 sorted values of a cell (its hotfix for
#: DataBiosphere/azul#2649) so that a row of a huge aggregate stays readable
MAX_VALUES = 100

FILES = ('contents', 'files')

Cells = dict[str, str]
ManifestConfig = Mapping[tuple[str, ...], Mapping[str, str]]
FileUrl = Callable[[Mapping[str, Any]], str | None]


def tsv_value(value: Any) -> str:
    """
    One value as text, as the original's field types' `to_tsv` spell it:
    null is empty, booleans and numbers are Python's `str` of them (`True`,
    `9001`), an age is `value unit` (or just `value` without a unit).
    """
    if value is None:
        return ''
    elif isinstance(value, bool | int | float | str):
        return str(value)
    elif isinstance(value, Mapping) and value.keys() == {'value', 'unit'}:
        # The original's `value_and_unit` field type, e.g. `organism_age`
        return value['value'] if value['unit'] is None else f'{value["value"]} {value["unit"]}'
    else:
        # No configured column holds anything else; a new one must say how
        raise TypeError(f'No TSV form for {value!r}')


def join_values(values: Iterable[str]) -> str:
    """The cell of the given values: distinct, sorted, capped, joined."""
    return f' {JOINER} '.join(sorted(set(values))[:MAX_VALUES])


def _checked(value: str) -> str:
    # The original's indexer refuses metadata containing the joiner, so its
    # manifests only assert its absence. This indexer does not refuse it, and
    # a cell whose values can't be told apart is worse than no manifest.
    if JOINER in value:
        raise ValueError(f'{JOINER!r} in a manifest value: {value!r}')
    return value


def cells(entities: Iterable[Mapping[str, Any]], columns: Mapping[str, str]) -> Cells:
    """
    The cells of the given columns from the given entities: a list value
    contributes its non-null items, any other value itself (null as empty).
    """
    entities = list(entities)
    row: Cells = {}
    for field, column in columns.items():
        values: list[str] = []
        for entity in entities:
            if field in entity:
                value = entity[field]
                if isinstance(value, list):
                    values.extend(_checked(tsv_value(v)) for v in value if v is not None)
                else:
                    values.append(_checked(tsv_value(value)))
        row[column] = join_values(values)
    return row


def entities(document: Mapping[str, Any], path: tuple[str, ...]) -> list[Mapping[str, Any]]:
    """The inner entities at `path`; none if a step is missing."""
    node: Any = document
    for key in path[:-1]:
        node = node.get(key, {})
    found = node.get(path[-1], [])
    if path == ('sources',):
        # The documents of this implementation hold a source as its spec: a
        # canned source has no id apart from its spec (see `sourceId`)
        found = [{'id': s, 'spec': s} if isinstance(s, str) else s for s in found]
    return list(found)


def rows(document: Mapping[str, Any], config: ManifestConfig, file_url: FileUrl) -> Iterator[Cells]:
    """The row of a `files` aggregate, then one row per related file."""
    row: Cells = {}
    related_rows: list[Cells] = []
    for path, columns in config.items():
        found = entities(document, path)
        if path == FILES:
            (file,) = found
            file = dict(file)
            if 'file_url' in columns:
                file['file_url'] = file_url(file)
            found = [file]
            # As the original does, each related file is laid over a copy of
            # the file that accumulates the related files before it: a field
            # the related file lacks (`read_index`, say) keeps the last value
            merged = dict(file)
            for related in file.get('related_files') or ():
                merged.update(related)
                if 'file_url' in columns:
                    merged['file_url'] = file_url(merged)
                related_rows.append(cells([merged], columns))
        row.update(cells(found, columns))
    yield row
    for related_row in related_rows:
        yield {**row, **related_row}


def column_names(config: ManifestConfig) -> list[str]:
    names = [column for columns in config.values() for column in columns.values()]
    if len(set(names)) != len(names):
        raise ValueError(f'A column is configured twice: {names}')
    return names


class ProjectShortNames:
    """
    The short names of the projects of the rows seen so far: the original
    names a manifest after a project's short name if all rows belong to it.
    """

    def __init__(self):
        self._names: set[str] = set()

    def add(self, document: Mapping[str, Any]) -> None:
        # Two are as good as many, so stop looking then, as the original does
        if len(self._names) < 2:
            for project in document.get('contents', {}).get('projects') or ():
                self._names.update(n for n in project.get('project_short_name') or ()
                                   if n is not None)

    @property
    def single(self) -> str | None:
        return next(iter(self._names)) if len(self._names) == 1 else None


class CompactFormat(ManifestFormat):
    name = 'compact'
    extension = 'tsv'
    content_type = 'text/tab-separated-values'

    def write(self, context: ManifestContext, output: BinaryIO) -> str | None:
        config = context.plugin.manifest_config
        # newline='' leaves the dialect's CRLF line ends as they are
        text = io.TextIOWrapper(output, encoding='utf-8', newline='', write_through=True)
        try:
            writer = csv.DictWriter(text, column_names(config), dialect='excel-tab')
            writer.writeheader()
            short_names = ProjectShortNames()
            for document in context.scan(self.entity_type):
                short_names.add(document)
                writer.writerows(rows(document, config, context.file_url))
        finally:
            # Hand the binary output back open: closing the wrapper would close it
            text.detach()
        return short_names.single
