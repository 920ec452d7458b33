"""
The `compact` manifest: a TSV with one row per file, as the original writes
it.

The columns come from the plugin's `manifest_config`. A cell holds the
distinct values of its field across the inner entities at the configured
path, as text, sorted, at most 100 of them, joined with ` || `. A file with
related files (the parts of a zarr store) is followed by one row per related
file: the file's row with the file columns replaced by those of the related
file.

`cells` and `rows` say what a row holds; `CompactFormat.write` computes the
same rows as lists, with a fast path for the common cell (one inner entity,
text values), and writes a line as is unless the CSV writer would quote a
field in it: that takes 81 instead of 207 CPU seconds for a manifest of
500,000 files on DuckDB (scripts/bench_manifest.py).
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
    `9001`), an age is `value unit` (or just `value` without a unit), an
    AnVIL age range the dict's text (`{'gte': 20.0, 'lte': None}`).
    """
    if value is None:
        return ''
    elif isinstance(value, bool | int | float | str):
        return str(value)
    elif isinstance(value, Mapping) and value.keys() == {'value', 'unit'}:
        # The original's `value_and_unit` field type, e.g. `organism_age`
        return value['value'] if value['unit'] is None else f'{value["value"]} {value["unit"]}'
    elif isinstance(value, Mapping) and value.keys() == {'gte', 'lte'}:
        # An AnVIL age range: the original's field type passes the range
        # through, and its TSV writer spells it as Python's text of the dict
        return str({'gte': _bound(value['gte']), 'lte': _bound(value['lte'])})
    else:
        # No configured column holds anything else; a new one must say how
        raise TypeError(f'No TSV form for {value!r}')


def _bound(value: Any) -> Any:
    # The original's bounds are floats (`20.0`); a backend may hand back a
    # whole number as an int
    return None if value is None else float(value)


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


def _cell(entities: list[Mapping[str, Any]], field: str) -> str:
    """
    The cell `cells(entities, {field: column})` makes, faster; a value
    holding the joiner falls back to `cells`, for the same error.
    """
    if len(entities) == 1:
        # The common case: one inner entity whose value is text or a list of text
        entity = entities[0]
        if field not in entity:
            return ''
        value = entity[field]
        cls = value.__class__
        if cls is str:
            if JOINER in value:
                return cells(entities, {field: field})[field]
            return value
        elif cls is list:
            try:
                # Fails on anything but text
                joined = '\0'.join(value)
            except TypeError:
                value = [v if v.__class__ is str else tsv_value(v) for v in value
                         if v is not None]
                joined = '\0'.join(value)
            # No value holds the joiner if their concatenation with another
            # separator doesn't
            if JOINER in joined:
                return cells(entities, {field: field})[field]
            n = len(value)
            if n == 1:
                return value[0]
            elif n == 0:
                return ''
            return ' || '.join(sorted(set(value))[:MAX_VALUES])
        else:
            value = tsv_value(value)
            if JOINER in value:
                return cells(entities, {field: field})[field]
            return value
    values: list[str] = []
    append = values.append
    for entity in entities:
        if field in entity:
            value = entity[field]
            cls = value.__class__
            if cls is str:
                append(value)
            elif cls is list:
                for v in value:
                    if v.__class__ is str:
                        append(v)
                    elif v is not None:
                        append(tsv_value(v))
            else:
                append(tsv_value(value))
    if not values:
        return ''
    if JOINER in '\0'.join(values):
        return cells(entities, {field: field})[field]
    if len(values) == 1:
        return values[0]
    return ' || '.join(sorted(set(values))[:MAX_VALUES])


class _Plan:
    """What `rows` does, with rows as lists of cells in column order."""

    def __init__(self, config: ManifestConfig):
        self.names = column_names(config)
        self.paths = []
        index = 0
        for path, columns in config.items():
            fields = [(field, index + i) for i, field in enumerate(columns)]
            index += len(fields)
            self.paths.append((path, fields, path == FILES, 'file_url' in columns))

    def rows(self, document: Mapping[str, Any], file_url: FileUrl) -> list[list[str]]:
        row = [''] * len(self.names)
        related_rows = []
        for path, fields, is_files, has_url in self.paths:
            found = entities(document, path)
            if is_files:
                (file,) = found
                file = dict(file)
                if has_url:
                    file['file_url'] = file_url(file)
                found = [file]
                related = file.get('related_files')
                if related:
                    merged = dict(file)
                    for r in related:
                        merged.update(r)
                        if has_url:
                            merged['file_url'] = file_url(merged)
                        one = [merged]
                        related_rows.append([(i, _cell(one, field)) for field, i in fields])
            for field, i in fields:
                row[i] = _cell(found, field)
        result = [row]
        for cells_ in related_rows:
            copy = row.copy()
            for i, value in cells_:
                copy[i] = value
            result.append(copy)
        return result


def _include(config: ManifestConfig) -> list[str]:
    """
    The document paths a compact manifest reads: the configured fields, files
    whole (their URLs and related files), and the projects' short names (the
    manifest's file name).
    """
    whole = [('sources',), ('bundles',), FILES]
    paths = ['.'.join(path) for path in whole]
    for path, columns in config.items():
        if path not in whole:
            paths.extend('.'.join((*path, field)) for field in columns)
    return [*paths, 'contents.projects.project_short_name']


class CompactFormat(ManifestFormat):
    name = 'compact'
    extension = 'tsv'
    content_type = 'text/tab-separated-values'

    def write(self, context: ManifestContext, output: BinaryIO) -> str | None:
        config = context.plugin.manifest_config
        # newline='' leaves the dialect's CRLF line ends as they are
        text = io.TextIOWrapper(output, encoding='utf-8', newline='', write_through=True)
        try:
            plan = _Plan(config)
            writer = csv.writer(text, dialect='excel-tab')
            writer.writerow(plan.names)
            tabs = len(plan.names) - 1
            short_names = ProjectShortNames()
            file_url = context.file_url
            lines: list[str] = []
            size = 0
            for document in context.scan(self.entity_type, _include(config)):
                short_names.add(document)
                for row in plan.rows(document, file_url):
                    line = '\t'.join(row)
                    # What the writer would quote; it writes anything else as is
                    if line.count('\t') == tabs and not ('"' in line or '\n' in line
                                                         or '\r' in line):
                        lines.append(line)
                        lines.append('\r\n')
                        size += len(line)
                    else:
                        if lines:
                            text.write(''.join(lines))
                            lines.clear()
                        writer.writerow(row)
                if size > 1 << 20:
                    text.write(''.join(lines))
                    lines.clear()
                    size = 0
            if lines:
                text.write(''.join(lines))
        finally:
            # Hand the binary output back open: closing the wrapper would close it
            text.detach()
        return short_names.single
