"""
Transformers: one bundle in, one contribution per entity it touches out, with
the inner entities the original Azul puts in each (see `contents.md`).

Outer entities of a bundle:

* ``files``: every data file that is not stitched; of a zarr store only the
  `.zattrs` members, which carry the others as `related_files`;
* ``cell_suspensions``: every cell suspension;
* ``samples``: the nearest samples of the files that are not stitched;
* ``projects`` and ``bundles``: the one project, the bundle itself.

A contribution holds what a visit of its entity sees: the entity, its
descendants and its ancestors (`graph.Graph.visits`), sorted into inner entity
types by schema; projects and bundles see every specimen and every file.

**Deletions**: when `deleted` is true the same entities get contributions with
``deleted=True`` and empty contents: aggregation drops a deleted bundle
without reading what it said.
"""
import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

from azul.core.documents import Contribution
from azul.plugins.metadata.hca import matrices
from azul.plugins.metadata.hca import transform_entities as inner
from azul.plugins.metadata.hca.graph import Ids, graph_of
from azul.plugins.metadata.hca.model import Entity, HCABundle
from azul.plugins.metadata.hca.submitters import Category, Submitter
from azul.plugins.repository.base import Bundle

log = logging.getLogger(__name__)

ENTITY_TYPES = ('files', 'samples', 'projects', 'bundles', 'cell_suspensions')

# The inner entity types that are the outer entity itself: kept whole
OWN_INNER_TYPES: Mapping[str, frozenset[str]] = {
    'files': frozenset({'files'}),
    'samples': frozenset({'samples', 'sample_specimens', 'sample_cell_lines',
                          'sample_organoids'}),
    'cell_suspensions': frozenset({'cell_suspensions'}),
    'projects': frozenset({'projects'}),
    'bundles': frozenset(),
}

PROTOCOL_TYPES = ('analysis_protocol', 'imaging_protocol', 'library_preparation_protocol',
                  'sequencing_protocol')

JSON = dict[str, Any]

_protocol_builders: Mapping[str, Callable[[Entity], JSON]] = {
    'analysis_protocol': inner.analysis_protocol,
    'imaging_protocol': inner.imaging_protocol,
    'library_preparation_protocol': inner.library_preparation_protocol,
    'sequencing_protocol': inner.sequencing_protocol,
}


def transform_bundle(bundle: Bundle, deleted: bool, drs_domain: str = 'localhost'
                     ) -> list[Contribution]:
    return _Transformer(bundle, drs_domain).contributions(deleted)


def zarr_parts(name: str | None) -> tuple[str, str] | None:
    """A zarr store member's (store, member) names, or None for other files."""
    parts = (name or '').split('.zarr/')
    if len(parts) == 2:
        return parts[0], parts[1]
    return None


class _Transformer:

    def __init__(self, bundle: Bundle, drs_domain: str):
        self.bundle = bundle
        self.drs_domain = drs_domain
        self.graph = graph_of(bundle)
        self.model: HCABundle = self.graph.bundle
        self.leaves = self.graph.leaf_cell_suspensions()
        self._container_matrices: tuple[list[JSON], list[JSON]] | None = None
        # Per kind of inner entity, by document id
        self._memos: dict[str, dict[str, JSON]] = {}

    def _inner(self, kind: str, e: Entity, build: Callable[[Entity], JSON]) -> JSON:
        """The inner entity of that kind made of `e`, one object per bundle."""
        return self._inners(kind, (e,), build)[0]

    def _inners(self, kind: str, entities: Iterable[Entity],
                build: Callable[[Entity], JSON]) -> list[JSON]:
        """`_inner` of each entity."""
        # The hot path of a transform: a bundle's contributions look up its
        # inner entities some 180,000 times in the fixtures, mostly by the list
        memo = self._memos.get(kind)
        if memo is None:
            memo = self._memos[kind] = {}
        result = []
        for e in entities:
            value = memo.get(e.document_id)
            if value is None:
                value = memo[e.document_id] = inner.nullify(build(e))
            result.append(value)
        return result

    # Outer entities

    def contributions(self, deleted: bool) -> list[Contribution]:
        model = self.model
        result = []

        def add(entity_type: str, entity_id: str, make: Callable[[], JSON]) -> None:
            result.append(Contribution(entity_type=entity_type,
                                       entity_id=entity_id,
                                       bundle=model.fqid,
                                       source=model.source,
                                       deleted=deleted,
                                       contents={} if deleted else make()))

        own_files = [f for f in model.files if not model.is_stitched(f)]
        stores: dict[str, list[Entity]] = {}
        for f in own_files:
            parts = zarr_parts(self._name(f))
            if parts is not None and not parts[1].startswith('.zattrs'):
                stores.setdefault(parts[0], []).append(f)
        for f in own_files:
            parts = zarr_parts(self._name(f))
            if parts is None or parts[1].endswith('.zattrs'):
                related = () if parts is None else stores.get(parts[0], ())
                add('files', f.document_id, lambda f=f, r=related: self._file_contents(f, r))
        for cs in model.of_type('cell_suspension'):
            add('cell_suspensions', cs.document_id,
                lambda cs=cs: self._contents(self.graph.visits([cs.document_id]),
                                             self.graph.ancestor_samples(cs.document_id),
                                             cs, 'cell_suspension'))
        samples: dict[str, None] = {}
        for f in own_files:
            samples.update(dict.fromkeys(self.graph.ancestor_samples(f.document_id)))
        for sample_id in samples:
            s = model.entities[sample_id]
            add('samples', sample_id,
                lambda s=s: self._contents(self.graph.visits([s.document_id]),
                                           (s.document_id,), s, 'sample'))
        add('projects', model.project.document_id, lambda: self._container_contents(True))
        add('bundles', model.fqid.uuid, lambda: self._container_contents(False))
        return result

    def _name(self, f: Entity) -> str | None:
        name = self.model.manifest.get(f.document_id, {}).get('name')
        return None if name is None else name.replace('!', '/')

    def _file_contents(self, f: Entity, related: Iterable[Entity]) -> JSON:
        graph = self.graph
        contents = self._contents(graph.visits([f.document_id]),
                                  graph.ancestor_samples(f.document_id), f, 'file')
        file = self._file(f)
        contents['files'] = [{**file, 'related_files': [self._file(r) for r in related]}]
        if f.schema_name == 'supplementary_file' and inner.is_matrix(f):
            # The file's source is its submitter's title (see `file_base`)
            submitter = Submitter.for_title(file['file_source'])
            if submitter is not None:
                for kind, values in matrices.strata_entities(f, self._name(f)).items():
                    contents[kind].extend(values)
        return contents

    @functools.cached_property
    def _container_visits(self) -> tuple[Ids, Ids]:
        """What projects and bundles see: every specimen and every file, and their samples."""
        model, graph = self.model, self.graph
        visits: list[str] = [s.document_id for s in model.of_type('specimen_from_organism')]
        files = [f.document_id for f in model.files]
        samples: dict[str, None] = {}
        for f in files:
            samples.update(dict.fromkeys(graph.ancestor_samples(f)))
        return graph.visits(visits + files), tuple(samples)

    def _container_contents(self, project: bool) -> JSON:
        visited, samples = self._container_visits
        if project:
            p = self.model.project
            contents = self._contents(visited, samples, p, 'project')
            contents['cell_counts'].append({'document_id': p.document_id,
                                            'estimated_cell_count':
                                                contents['projects'][0]['estimated_cell_count']})
        else:
            contents = self._contents(visited, samples, None, 'bundle')
        # The project and the bundle see the same files, so the same matrices
        if self._container_matrices is None:
            self._container_matrices = self._matrices(contents)
        contents['matrices'], contents['contributed_analyses'] = map(list,
                                                                     self._container_matrices)
        return contents

    def _matrices(self, contents: JSON) -> tuple[list[JSON], list[JSON]]:
        internal, external = [], []
        for file in contents['files']:
            f = self.model.entities[file['document_id']]
            submitter = Submitter.for_title(file['file_source'])
            category = None if submitter is None else submitter.category
            if file['is_intermediate']:
                continue
            matrix = inner.is_matrix(f)
            if matrix and category is Category.internal:
                found = internal
            elif (matrix or f.schema_name == 'analysis_file') and category is Category.external:
                found = external
            else:
                continue
            found.append({'document_id': f.document_id,
                          'file': {**file, 'strata': self._strata(f)}})
        return internal, external

    def _strata(self, f: Entity) -> str:
        if f.schema_name == 'supplementary_file':
            return f.content.get('file_description') or ''
        seen = self._visited(self.graph.visits([f.document_id]))
        samples = [self.model.entities[s] for s in self.graph.ancestor_samples(f.document_id)]
        return matrices.strata_string(seen, samples)

    # Inner entities

    def _visited(self, visited: Ids) -> dict[str, list[Entity]]:
        """What the original's visitor collects, by kind, in visit order."""
        entities, roles = self.model.entities, self._roles
        out: dict[str, list[Entity]] = {
            kind: [] for kind in ('specimen_from_organism', 'cell_suspension', 'cell_line',
                                  'donor_organism', 'organoid', 'sequencing_inputs',
                                  'sequencing_processes', 'files', *PROTOCOL_TYPES)
        }
        protocols: dict[str, dict[str, Entity]] = {t: {} for t in PROTOCOL_TYPES}
        for entity_id in visited:
            role = roles.get(entity_id)
            if role is None:
                continue
            kinds, applied = role
            e = entities[entity_id]
            for kind in kinds:
                out[kind].append(e)
            for pid, protocol_type in applied:
                protocols[protocol_type].setdefault(pid, entities[pid])
        for kind, found in protocols.items():
            out[kind] = list(found.values())
        return out

    @functools.cached_property
    def _roles(self) -> dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]]:
        """
        Per entity, once per bundle: the visitor's lists it goes into, and, for
        a process, the protocols it applies with their types.
        """
        model, children = self.model, self.graph.children
        kinds_of = ('specimen_from_organism', 'cell_suspension', 'cell_line', 'donor_organism',
                    'organoid')
        roles = {}
        for entity_id, e in model.entities.items():
            kinds: list[str] = []
            applied: list[tuple[str, str]] = []
            if e.schema_type == 'biomaterial' and any(
                self._is_sequencing(p, sequencing_protocol_only=True)
                for p in children.get(entity_id, ())
            ):
                kinds.append('sequencing_inputs')
            if e.schema_name in kinds_of:
                kinds.append(e.schema_name)
            elif entity_id in model.inputs:
                if self._is_sequencing(entity_id):
                    kinds.append('sequencing_processes')
                for pid in children.get(entity_id, ()):
                    child = model.entities.get(pid)
                    schema = None if child is None else child.schema_name
                    if schema in PROTOCOL_TYPES:
                        applied.append((pid, schema))
            elif e.is_file and entity_id in model.manifest:
                parts = zarr_parts(self._name(e))
                if parts is None or parts[1].endswith('.zattrs'):
                    kinds.append('files')
            if kinds or applied:
                roles[entity_id] = (tuple(kinds), tuple(applied))
        return roles

    def _is_sequencing(self, process_id: str, sequencing_protocol_only: bool = False) -> bool:
        process = self.model.entities.get(process_id)
        if process is None or process_id not in self.model.inputs:
            return False
        if not sequencing_protocol_only and process.schema_name == 'sequencing_process':
            return True
        return process_id in self._sequencing_protocol_processes

    @functools.cached_property
    def _sequencing_protocol_processes(self) -> frozenset[str]:
        """The processes that apply a sequencing protocol."""
        entities = self.model.entities
        return frozenset(pid for pid in self.model.inputs
                         if any(entities[p].schema_name == 'sequencing_protocol'
                                for p in self.model.protocols.get(pid, ()) if p in entities))

    def _contents(self, visited: Ids, samples: Ids, outer: Entity | None, kind: str) -> JSON:
        model = self.model
        seen = self._visited(visited)
        contents: JSON = {'samples': [], 'sample_specimens': [], 'sample_cell_lines': [],
                          'sample_organoids': []}
        for sample_id in samples:
            s = model.entities[sample_id]
            contents['samples'].append(self._inner('samples', s, inner.sample))
            contents['sample_' + inner.sample_kind(s)].append(
                self._inner('sample_kind', s, inner.sample_of_kind))
        for key in ('sample_specimens', 'sample_cell_lines', 'sample_organoids'):
            # The original's contributions only have the kinds they hold
            if not contents[key]:
                del contents[key]
        inners = self._inners
        contents['sequencing_inputs'] = inners('sequencing_inputs', seen['sequencing_inputs'],
                                               inner.sequencing_input)
        contents['specimens'] = inners('specimens', seen['specimen_from_organism'],
                                       inner.specimen)
        # A cell suspension's own contribution holds only itself
        suspensions = [outer] if kind == 'cell_suspension' else seen['cell_suspension']
        contents['cell_suspensions'] = inners('cell_suspensions', suspensions,
                                              self._build_cell_suspension)
        contents['cell_lines'] = inners('cell_lines', seen['cell_line'], inner.cell_line)
        contents['donors'] = inners('donors', seen['donor_organism'], inner.donor)
        contents['organoids'] = inners('organoids', seen['organoid'], inner.organoid)
        contents['files'] = inners('files', seen['files'], self._build_file)
        for protocol_type in PROTOCOL_TYPES:
            contents[protocol_type + 's'] = inners(protocol_type, seen[protocol_type],
                                                   _protocol_builders[protocol_type])
        contents['sequencing_processes'] = inners('sequencing_processes',
                                                  seen['sequencing_processes'], inner.entity)
        contents['dates'] = [self._dates(outer, kind)]
        contents['projects'] = [self._inner('projects', model.project, inner.project)]
        # Helper for cellCount: the cells of every cell suspension, once each
        contents['cell_counts'] = [self._cell_count(cs) for cs in contents['cell_suspensions']]
        return contents

    def _cell_count(self, cs: JSON) -> JSON:
        # One object per cell suspension, as every inner entity of the bundle,
        # so that the fold takes the lists of them once (`shared_folds`)
        memo = self._memos.setdefault('cell_counts', {})
        value = memo.get(cs['document_id'])
        if value is None:
            value = memo[cs['document_id']] = {'document_id': cs['document_id'],
                                               'total_estimated_cells':
                                                   cs['total_estimated_cells']}
        return value

    def _cell_suspension(self, e: Entity) -> JSON:
        return self._inner('cell_suspensions', e, self._build_cell_suspension)

    def _build_cell_suspension(self, e: Entity) -> JSON:
        samples = [self.model.entities[s] for s in self.graph.ancestor_samples(e.document_id)]
        return inner.cell_suspension(e, samples, e.document_id in self.leaves)

    def _file(self, e: Entity) -> JSON:
        return self._inner('files', e, self._build_file)

    def _build_file(self, e: Entity) -> JSON:
        graph = self.graph
        file = inner.file_base(e, self.model, graph.parents.get(e.document_id, ()),
                               graph.children.get(e.document_id, ()), self._drs_uri(e))
        # Where the repository says the data is, for downloads: a DSS-style
        # `drs_uri` names this deployment, not the bytes
        file['source_drs_uri'] = self.model.manifest.get(e.document_id, {}).get('drs_uri')
        return file

    def _drs_uri(self, e: Entity) -> str | None:
        entry = self.model.manifest.get(e.document_id, {})
        if self.bundle.kind == 'tdr':
            # A TDR bundle names its files' DRS objects, or has none
            return entry.get('drs_uri')
        uuid, version = entry.get('uuid'), entry.get('version')
        if uuid is None or version is None:
            return None
        version = inner._version(version)
        return f'drs://{self.drs_domain}/{uuid}?version={quote(version, safe="")}'

    def _dates(self, outer: Entity | None, kind: str) -> JSON:
        model = self.model
        if kind in ('project', 'bundle'):
            own = [e for e in model.entities.values() if not model.is_stitched(e)]
        else:
            own = []
        if outer is None:
            version = inner._version(model.fqid.version)
            return inner.dates(model.fqid.uuid, version, version, own)
        return inner.dates(outer.document_id, outer.submission_date, outer.update_date, own)
