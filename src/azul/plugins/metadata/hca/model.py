"""
The HCA metadata model: a bundle's metadata documents as typed entities, and
the provenance graph between them.

Two document styles are read alike: flat documents (current schema, dates in
`provenance`) and v5 wrapped documents (`{"content": {...}, "hca_ingest":
{...}}`, dates in `hca_ingest`). An entity's type is the schema name in its
metadata key (`donor_organism/<id>`), which always matches `describedBy`.

The graph is bipartite: biomaterials and files are inputs and outputs of
processes, and processes apply protocols; `graph.Graph` walks it as the
original does.

**Stitched entities** (`Bundle.stitched`: entity ids and data file uuids of
entities pulled in from upstream subgraphs) stay in the model: they are real
metadata that the bundle's own files derive from and are needed to
denormalize them (a matrix's organ and species come from stitched
specimens and donors). `is_stitched` lets the transformers decide which
entities the bundle contributes as its own.
"""
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from azul.core.documents import BundleFQID, format_date, normalize_version
from azul.errors import AzulError, RepositoryError
from azul.plugins.metadata.hca.links import Links, parse_links
from azul.plugins.repository.base import Bundle

log = logging.getLogger(__name__)

SAMPLE_TYPES = frozenset({'specimen_from_organism', 'cell_line', 'organoid'})
FILE_TYPES = frozenset({'sequence_file', 'analysis_file', 'image_file', 'supplementary_file'})
# v5 processes that carry what later schemas put in protocols
V5_PROTOCOL_PROCESSES = frozenset({'library_preparation_process', 'sequencing_process'})


@attrs.frozen(slots=True)
class Entity:
    document_id: str
    # The schema name, e.g. `donor_organism`, `dissociation_process`
    schema_name: str
    # `project`, `biomaterial`, `file`, `process` or `protocol`
    schema_type: str
    # The document's own fields: the flat document, or a v5 document's `content`
    content: Mapping[str, Any]
    submission_date: str | None
    update_date: str | None

    @property
    def is_file(self) -> bool:
        return self.schema_type == 'file' or self.schema_name in FILE_TYPES

    @property
    def is_sample(self) -> bool:
        return self.schema_name in SAMPLE_TYPES

    @property
    def last_modified_date(self) -> str | None:
        dates = [d for d in (self.submission_date, self.update_date) if d is not None]
        return max(dates, default=None)


def parse_date(value: Any) -> str | None:
    """A metadata date in the one date format of documents, or None."""
    if value is None:
        return None
    try:
        return normalize_version(value)
    except AzulError:
        pass
    # A few documents carry a UTC offset, e.g. 2020-08-10T14:24:26.174274-07:00
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        log.warning('Ignoring unparseable date %r', value)
        return None
    return format_date(dt if dt.tzinfo else dt.replace(tzinfo=UTC))


def parse_entity(key: str, document: Mapping[str, Any]) -> Entity:
    """An entity from one `metadata` item; raises KeyError/TypeError if malformed."""
    schema_name, _, entity_id = key.partition('/')
    if 'content' in document and 'hca_ingest' in document:
        content = document['content']
        ingest = document['hca_ingest']
        document_id = ingest.get('document_id') or entity_id
        submitted, updated = ingest.get('submissionDate'), ingest.get('updateDate')
    else:
        content = document
        provenance = document.get('provenance') or {}
        document_id = provenance.get('document_id') or entity_id
        submitted, updated = provenance.get('submission_date'), provenance.get('update_date')
    schema_type = content.get('schema_type')
    if schema_type is None or schema_type == 'project_bundle':
        schema_type = 'project' if schema_name == 'project' else schema_type
    if schema_type is None:
        described_by = content.get('describedBy', '')
        schema_type = described_by.rstrip('/').split('/')[-3] if described_by else 'unknown'
    return Entity(document_id=document_id,
                  schema_name=schema_name,
                  schema_type=schema_type,
                  content=content,
                  submission_date=parse_date(submitted),
                  update_date=parse_date(updated))


class HCABundle:
    """A bundle's entities, manifest and graph, with memoized traversals."""

    def __init__(self, bundle: Bundle):
        self.fqid: BundleFQID = bundle.fqid
        self.source: str = bundle.source
        self.stitched: frozenset[str] = frozenset(bundle.stitched)
        self.entities: dict[str, Entity] = {}
        # The entity id of each well-formed document by its metadata key
        self.document_ids: dict[str, str] = {}
        for key, document in bundle.metadata.items():
            try:
                entity = parse_entity(key, document)
            except (KeyError, TypeError, AttributeError) as e:
                log.warning('Bundle %s: skipping malformed metadata document %s: %r',
                            self.fqid, key, e)
                continue
            self.entities[entity.document_id] = entity
            self.document_ids[key] = entity.document_id
        projects = [e for e in self.entities.values() if e.schema_name == 'project']
        if len(projects) != 1:
            raise RepositoryError(f'Bundle {self.fqid.uuid} has {len(projects)} project '
                                  f'documents; expected exactly one')
        self.project: Entity = projects[0]
        # Manifest entries by metadata entity id
        self.manifest: dict[str, Mapping[str, Any]] = {}
        for key, entry in bundle.manifest.items():
            entity_id = key.partition('/')[2]
            if entity_id in self.entities:
                self.manifest[entity_id] = entry
            else:
                log.warning('Bundle %s: manifest entry %s has no metadata document',
                            self.fqid, key)
        self.links: Links = parse_links(bundle.links)
        self._build_graph()

    def _build_graph(self) -> None:
        # process id -> its inputs and the protocols it applied; the walks
        # themselves are `graph.Graph`'s
        self.inputs: dict[str, tuple[str, ...]] = {}
        self.protocols: dict[str, tuple[str, ...]] = {}
        missing = set()
        for link in self.links.processes:
            pid = link.process_id
            # One process may appear in several links (e.g. after stitching)
            self.inputs[pid] = tuple(dict.fromkeys(self.inputs.get(pid, ()) + link.inputs))
            self.protocols[pid] = tuple(dict.fromkeys(self.protocols.get(pid, ())
                                                      + link.protocols))
            for ref in (pid, *link.inputs, *link.outputs, *link.protocols):
                if ref not in self.entities:
                    missing.add(ref)
        if missing:
            # Referenced but absent entities are skipped wherever they appear
            log.warning('Bundle %s: %d linked entities have no metadata document, e.g. %s',
                        self.fqid, len(missing), sorted(missing)[:3])

    # Entities

    def get(self, entity_id: str) -> Entity | None:
        return self.entities.get(entity_id)

    def of_type(self, *schema_names: str) -> list[Entity]:
        return [e for e in self.entities.values() if e.schema_name in schema_names]

    @property
    def files(self) -> list[Entity]:
        """Data files: file entities with a manifest entry."""
        return [self.entities[i] for i in self.manifest if self.entities[i].is_file]

    def is_stitched(self, entity: Entity) -> bool:
        if entity.document_id in self.stitched:
            return True
        entry = self.manifest.get(entity.document_id)
        return entry is not None and entry.get('uuid') in self.stitched
