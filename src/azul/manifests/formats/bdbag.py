"""
The `terra.bdbag` manifest: a ZIP of a BDBag (BagIt) whose payload is one
table, `data/participants.tsv`, in the shape Terra imports as its
`participant` entity table.

Rules, as the original service applies them:

* One row per *bundle*, not per file: `entity:participant_id` is
  `<bundle uuid>.<bundle version>` with the colons dropped from the version
  (Terra refuses `:` in entity ids).
* Every file of the bundle gets its own block of columns, qualified by its
  file format (`__bam__file_name`); FASTQs are qualified by their read index
  (`__fastq_read1__...`) and characters other than letters, digits, `_` and
  `-` become `-`. When some bundle has more than one file of a qualifier,
  the blocks are numbered (`__bam_0__...`, `__bam_1__...`) for all bundles,
  in the order of the reversed file name (so that `x_qc.bam` and `y_qc.bam`
  both land in the same block).
* The columns of the other entities (project, donor, specimen, ...) hold the
  union of the values of all files in the bundle, sorted and joined by
  ` || `.
* A bundle whose files are all in another bundle of the manifest is left
  out (a primary bundle next to the analysis bundle derived from it), as is
  the older of two bundles with the same files.

Memory: the original groups every file under its bundles in a dictionary,
so its memory grows with the whole manifest. Here the grouped cells are
spilled to a temporary SQLite database on disk; what stays in memory is the
cells of one bundle at a time (it grows with the number of files in the
largest bundle) and the header (it grows with the number of distinct
qualifiers times the largest number of files per qualifier in one bundle).
The database and the bag on disk grow with the manifest.
"""
import csv
import itertools
import json
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO, TextIO

from bdbag import bdbag_api

from azul.manifests.formats.base import ManifestContext, ManifestFormat

Cells = dict[str, str]
# Document field → column name, in column order
ColumnMapping = Sequence[tuple[str, str]]

# The original joins the values of a cell with its manifest column joiner,
# padded with spaces
JOINER = ' || '

# Dots are not allowed in Terra column names; the original replaces every dot
# of the compact manifest's column names with this separator, which also
# separates a file column's qualifier from its name
SEPARATOR = '__'

# At most this many distinct values per cell, as in the original (a hotfix of
# its issue #2649 that it never revisited)
MAX_VALUES = 100

PARTICIPANT_ID = 'entity:participant_id'

# The compact manifest's column configuration of the original's HCA plugin
# (document path → field → column), in its order, as the BDBag generator of
# the original derives its columns from it. It is kept here rather than taken
# from the compact format so that the two formats can evolve independently;
# `file_url` is not a document field but the service's download URL of the
# file, added to the file's entry before its cells are extracted.
COLUMNS: Sequence[tuple[tuple[str, ...], ColumnMapping]] = (
    (('sources',), (
        ('id', 'source_id'),
        ('spec', 'source_spec'),
    )),
    (('bundles',), (
        ('uuid', 'bundle_uuid'),
        ('version', 'bundle_version'),
    )),
    (('contents', 'files'), (
        ('document_id', 'file_document_id'),
        ('file_type', 'file_type'),
        ('name', 'file_name'),
        ('file_format', 'file_format'),
        ('read_index', 'read_index'),
        ('size', 'file_size'),
        ('uuid', 'file_uuid'),
        ('version', 'file_version'),
        ('crc32c', 'file_crc32c'),
        ('sha256', 'file_sha256'),
        ('content-type', 'file_content_type'),
        ('drs_uri', 'file_drs_uri'),
        ('file_url', 'file_url'),
    )),
    (('contents', 'cell_suspensions'), (
        ('document_id', 'cell_suspension.provenance.document_id'),
        ('biomaterial_id', 'cell_suspension.biomaterial_core.biomaterial_id'),
        ('total_estimated_cells', 'cell_suspension.estimated_cell_count'),
        ('selected_cell_type', 'cell_suspension.selected_cell_type'),
    )),
    (('contents', 'sequencing_processes'), (
        ('document_id', 'sequencing_process.provenance.document_id'),
    )),
    (('contents', 'sequencing_protocols'), (
        ('instrument_manufacturer_model', 'sequencing_protocol.instrument_manufacturer_model'),
        ('paired_end', 'sequencing_protocol.paired_end'),
    )),
    (('contents', 'library_preparation_protocols'), (
        ('library_construction_approach',
         'library_preparation_protocol.library_construction_approach'),
        ('nucleic_acid_source', 'library_preparation_protocol.nucleic_acid_source'),
    )),
    (('contents', 'projects'), (
        ('document_id', 'project.provenance.document_id'),
        ('institutions', 'project.contributors.institution'),
        ('laboratory', 'project.contributors.laboratory'),
        ('project_short_name', 'project.project_core.project_short_name'),
        ('project_title', 'project.project_core.project_title'),
        ('estimated_cell_count', 'project.estimated_cell_count'),
    )),
    (('contents', 'specimens'), (
        ('document_id', 'specimen_from_organism.provenance.document_id'),
        ('disease', 'specimen_from_organism.diseases'),
        ('organ', 'specimen_from_organism.organ'),
        ('organ_part', 'specimen_from_organism.organ_part'),
        ('preservation_method',
         'specimen_from_organism.preservation_storage.preservation_method'),
    )),
    (('contents', 'donors'), (
        ('biological_sex', 'donor_organism.sex'),
        ('biomaterial_id', 'donor_organism.biomaterial_core.biomaterial_id'),
        ('document_id', 'donor_organism.provenance.document_id'),
        ('genus_species', 'donor_organism.genus_species'),
        ('development_stage', 'donor_organism.development_stage'),
        ('diseases', 'donor_organism.diseases'),
        ('organism_age', 'donor_organism.organism_age'),
    )),
    (('contents', 'cell_lines'), (
        ('document_id', 'cell_line.provenance.document_id'),
        ('biomaterial_id', 'cell_line.biomaterial_core.biomaterial_id'),
    )),
    (('contents', 'organoids'), (
        ('document_id', 'organoid.provenance.document_id'),
        ('biomaterial_id', 'organoid.biomaterial_core.biomaterial_id'),
        ('model_organ', 'organoid.model_organ'),
        ('model_organ_part', 'organoid.model_organ_part'),
    )),
    (('contents', 'samples'), (
        ('entity_type', '_entity_type'),
        ('document_id', 'sample.provenance.document_id'),
        ('biomaterial_id', 'sample.biomaterial_core.biomaterial_id'),
    )),
    (('contents', 'sequencing_inputs'), (
        ('document_id', 'sequencing_input.provenance.document_id'),
        ('biomaterial_id', 'sequencing_input.biomaterial_core.biomaterial_id'),
        ('sequencing_input_type', 'sequencing_input_type'),
    )),
)


def _terra_columns(mapping: ColumnMapping) -> ColumnMapping:
    return tuple((field, column.replace('.', SEPARATOR)) for field, column in mapping)


SOURCE_COLUMNS, BUNDLE_COLUMNS, FILE_COLUMNS = (_terra_columns(m) for _, m in COLUMNS[:3])
OTHER_COLUMNS = tuple((path, _terra_columns(m)) for path, m in COLUMNS[3:])


def tsv_value(value: Any) -> str:
    """
    One value as the original writes it into a cell: null is empty, an age
    is `<value> <unit>` (or the value alone), a number or boolean as Python
    spells it.
    """
    if value is None:
        return ''
    if isinstance(value, Mapping):
        unit = value.get('unit')
        return str(value['value']) if unit is None else f'{value["value"]} {unit}'
    if isinstance(value, float) and value.is_integer():
        # Counts are integers in the original's index
        return str(int(value))
    return str(value)


def extract(entities: Iterable[Mapping[str, Any]], mapping: ColumnMapping) -> Cells:
    """
    The cells of `mapping`'s columns for a list of entities: the distinct
    values of each field across the entities, sorted and joined. Nulls inside
    a list are skipped, a null on its own is an empty value.
    """
    entities = list(entities)
    cells = {}
    for field, column in mapping:
        values = set()
        for entity in entities:
            if field not in entity:
                continue
            value = entity[field]
            if isinstance(value, list):
                values.update(tsv_value(v) for v in value if v is not None)
            else:
                values.add(tsv_value(value))
        cells[column] = JOINER.join(sorted(values)[:MAX_VALUES])
    return cells


def entities_at(document: Mapping[str, Any], path: Sequence[str]) -> list[Mapping[str, Any]]:
    node: Any = document
    for key in path[:-1]:
        node = node.get(key, {})
    return node.get(path[-1], [])


def source_entities(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """
    The document's sources as the original's `{id, spec}` entries; here a
    source is identified by its spec, so a bare spec serves as both.
    """
    return [source if isinstance(source, Mapping) else {'id': source, 'spec': source}
            for source in document.get('sources', [])]


def qualifier(file: Mapping[str, Any]) -> str:
    """
    The prefix of a file's columns: its format, or `fastq_<read index>` for
    a FASTQ, with characters Terra refuses in column names replaced by `-`
    (original issue #2182).
    """
    value = str(file['file_format'])
    if value in ('fastq.gz', 'fastq'):
        # A FASTQ without a read index gets `fastq_None`, as in the original
        value = f'fastq_{file.get("read_index")}'
    return re.sub(r'[^A-Za-z0-9_-]', '-', value)


def qualify(qualifier_: str, column: str, index: int | None) -> str:
    if index is not None:
        qualifier_ = f'{qualifier_}_{index}'
    return f'{SEPARATOR}{qualifier_}{SEPARATOR}{column}'


_SCHEMA = """
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL,         -- the file_uuid cell, what redundancy compares
    qualifier TEXT NOT NULL,
    sort_key TEXT NOT NULL,     -- the reversed file name
    file_cells TEXT NOT NULL,   -- JSON
    other_cells TEXT NOT NULL   -- JSON
);
CREATE TABLE bundles (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL,
    version TEXT NOT NULL,      -- without colons, as in the participant id
    cells TEXT NOT NULL,        -- JSON
    redundant INTEGER NOT NULL DEFAULT 0,
    UNIQUE (uuid, version)
);
CREATE TABLE members (
    bundle_id INTEGER NOT NULL,
    file_id INTEGER NOT NULL,
    file_uuid TEXT NOT NULL,
    PRIMARY KEY (bundle_id, file_id)
);
CREATE INDEX members_by_file ON members (file_uuid, bundle_id);
"""

# A bundle is redundant if another bundle of the manifest has all of its files
# and more, or the same files and a greater version. The original finds these
# with a greedy pass over its in-memory dictionary whose outcome depends on
# the iteration order in rare chains of ties; this is the order-independent
# rule it approximates (among bundles with the same files and the same
# version, the one with the greatest uuid is kept).
_MARK_REDUNDANT = """
WITH sizes AS (
    SELECT bundle_id, count(DISTINCT file_uuid) AS n FROM members GROUP BY bundle_id
), shared AS (
    SELECT a.bundle_id AS a, b.bundle_id AS b, count(DISTINCT a.file_uuid) AS n
    FROM members AS a JOIN members AS b
        ON a.file_uuid = b.file_uuid AND a.bundle_id != b.bundle_id
    GROUP BY a.bundle_id, b.bundle_id
)
UPDATE bundles SET redundant = 1 WHERE id IN (
    SELECT shared.a
    FROM shared
    JOIN sizes AS sa ON sa.bundle_id = shared.a
    JOIN sizes AS sb ON sb.bundle_id = shared.b
    JOIN bundles AS ba ON ba.id = shared.a
    JOIN bundles AS bb ON bb.id = shared.b
    WHERE shared.n = sa.n AND (
        sb.n > sa.n
        OR (sb.n = sa.n AND (bb.version > ba.version
                             OR (bb.version = ba.version AND bb.uuid > ba.uuid)))
    )
)
"""


class _Groups:
    """The files of the manifest grouped by bundle, spilled to SQLite."""

    def __init__(self, path: str):
        self.db = sqlite3.connect(path)
        # A scratch database, deleted with its directory: no journal, no
        # waiting for the disk
        self.db.execute('PRAGMA journal_mode = OFF')
        self.db.execute('PRAGMA synchronous = OFF')
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def add(self, context: ManifestContext, document: Mapping[str, Any]) -> None:
        """Register the one file of a `files` aggregate under each of its bundles."""
        files = entities_at(document, ('contents', 'files'))
        assert len(files) == 1, document.get('entity_id')
        file = dict(files[0])
        file['file_url'] = context.file_url(file)
        file_cells = extract([file], FILE_COLUMNS)
        other_cells = extract(source_entities(document), SOURCE_COLUMNS)
        for path, mapping in OTHER_COLUMNS:
            other_cells.update(extract(entities_at(document, path), mapping))
        cursor = self.db.execute(
            'INSERT INTO files (uuid, qualifier, sort_key, file_cells, other_cells) '
            'VALUES (?, ?, ?, ?, ?)',
            (file_cells['file_uuid'], qualifier(file), file_cells['file_name'][::-1],
             json.dumps(file_cells), json.dumps(other_cells)))
        file_id = cursor.lastrowid
        for bundle in document['bundles']:
            self._add_member(bundle, file_id, file_cells['file_uuid'])

    def _add_member(self, bundle: Mapping[str, Any], file_id: int, file_uuid: str) -> None:
        uuid, version = str(bundle['uuid']), str(bundle['version']).replace(':', '')
        cells = {PARTICIPANT_ID: f'{uuid}.{version}', **extract([bundle], BUNDLE_COLUMNS)}
        self.db.execute('INSERT OR IGNORE INTO bundles (uuid, version, cells) VALUES (?, ?, ?)',
                        (uuid, version, json.dumps(cells)))
        (bundle_id,) = self.db.execute('SELECT id FROM bundles WHERE uuid = ? AND version = ?',
                                       (uuid, version)).fetchone()
        self.db.execute('INSERT OR IGNORE INTO members (bundle_id, file_id, file_uuid) '
                        'VALUES (?, ?, ?)', (bundle_id, file_id, file_uuid))

    def remove_redundant(self) -> None:
        self.db.execute(_MARK_REDUNDANT)

    def blocks_per_qualifier(self) -> dict[str, int]:
        """The largest number of files of each qualifier in any one bundle."""
        rows = self.db.execute("""
            SELECT qualifier, max(n) FROM (
                SELECT m.bundle_id, f.qualifier, count(*) AS n
                FROM members AS m
                JOIN files AS f ON f.id = m.file_id
                JOIN bundles AS b ON b.id = m.bundle_id
                WHERE NOT b.redundant
                GROUP BY m.bundle_id, f.qualifier
            ) GROUP BY qualifier
        """)
        return dict(sorted(rows))

    def bundles(self) -> Iterator[tuple[Cells, list[tuple[str, Cells, Cells]]]]:
        """
        Each remaining bundle's cells and its files' (qualifier, file cells,
        other cells), the files of a qualifier in block order. Bundles come
        in order of their uuid and version.
        """
        rows = self.db.execute("""
            SELECT b.id, b.cells, f.qualifier, f.file_cells, f.other_cells
            FROM bundles AS b
            JOIN members AS m ON m.bundle_id = b.id
            JOIN files AS f ON f.id = m.file_id
            WHERE NOT b.redundant
            ORDER BY b.uuid, b.version, f.qualifier, f.sort_key, f.uuid
        """)
        for _, group in itertools.groupby(rows, key=lambda row: row[0]):
            group = list(group)
            yield json.loads(group[0][1]), [(q, json.loads(fc), json.loads(oc))
                                            for _, _, q, fc, oc in group]


def header(blocks: Mapping[str, int]) -> list[str]:
    """
    The column names: participant id, bundle columns, the other entities'
    columns, then the blocks of file columns by qualifier.
    """
    columns = [PARTICIPANT_ID, *(c for _, c in BUNDLE_COLUMNS), *(c for _, c in SOURCE_COLUMNS)]
    columns += (c for _, mapping in OTHER_COLUMNS for _, c in mapping)
    for qualifier_, count in blocks.items():
        for index in range(count):
            columns += (qualify(qualifier_, c, None if count == 1 else index)
                        for _, c in FILE_COLUMNS)
    return list(dict.fromkeys(columns))


def row(bundle_cells: Cells, files: list[tuple[str, Cells, Cells]],
        blocks: Mapping[str, int]) -> Cells:
    """
    One bundle's row. The other entities' cells are merged across the
    bundle's files: a value of one file stays in the cell, but which file it
    came from is lost.
    """
    merged: dict[str, set[str]] = {}
    result = dict(bundle_cells)
    for qualifier_, group in itertools.groupby(files, key=lambda f: f[0]):
        for index, (_, file_cells, other_cells) in enumerate(group):
            index_ = None if blocks[qualifier_] == 1 else index
            result.update((qualify(qualifier_, c, index_), v) for c, v in file_cells.items())
            for column, cell in other_cells.items():
                merged.setdefault(column, set()).update(cell.split(JOINER))
    result.update((column, JOINER.join(sorted(values))) for column, values in merged.items())
    return result


def write_participants(groups: _Groups, output: TextIO) -> None:
    blocks = groups.blocks_per_qualifier()
    writer = csv.DictWriter(output, header(blocks), dialect='excel-tab')
    writer.writeheader()
    for bundle_cells, files in groups.bundles():
        writer.writerow(row(bundle_cells, files, blocks))


class TerraBDBagFormat(ManifestFormat):
    name = 'terra.bdbag'
    extension = 'zip'
    content_type = 'application/octet-stream'
    # The original gives no file name: Terra does not like the
    # Content-Disposition header
    named = False

    # The bag's directory, and the one folder at the top of the ZIP
    bag_name = 'manifest'

    def write(self, context: ManifestContext, output: BinaryIO) -> None:
        with tempfile.TemporaryDirectory() as temp:
            bag = os.path.join(temp, self.bag_name)
            os.mkdir(bag)
            groups = _Groups(os.path.join(temp, 'groups.sqlite'))
            try:
                for document in context.scan(self.entity_type):
                    groups.add(context, document)
                groups.remove_redundant()
                # The TSV goes into the directory first; making the bag moves
                # it into `data/` and writes its checksums
                tsv = os.path.join(bag, 'participants.tsv')
                with open(tsv, 'w', encoding='utf-8', newline='') as f:
                    write_participants(groups, f)
            finally:
                groups.close()
            bdbag_api.make_bag(bag)
            bdbag_api.validate_bag(bag)
            archive = bdbag_api.archive_bag(bag, 'zip')
            with open(archive, 'rb') as f:
                shutil.copyfileobj(f, output)
        return None
