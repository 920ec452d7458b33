"""
Transformers: one bundle in, one contribution per entity it touches out.

Outer entities of a bundle (see `contents.md` for the inner entities):

* ``files``: every data file of the manifest that is not stitched;
* ``samples``: the nearest samples of those files;
* ``cell_suspensions``: every cell suspension that is not stitched, plus
  stitched ones that a non-stitched file derives from;
* ``projects``: the project; ``bundles``: the bundle itself.

So a stitched entity is only contributed by this bundle where this bundle adds
something to it (a file derived from it); it is always used to denormalize.

A contribution holds the outer entity itself and every entity related to it:
its ancestors and descendants in the provenance graph, and the protocols of
the processes among them; projects and bundles relate to everything in the
bundle. Each inner entity dict is built once per bundle and shared by all the
contributions that hold it, so a bundle's transform is linear in its size.

**Deletions**: when `deleted` is true the same entities get contributions with
``deleted=True`` and empty contents: aggregation drops a deleted bundle
without reading what it said, so there is no point in storing it again.
"""
import logging
from collections.abc import Callable, Iterable
from typing import Any

from azul.core.documents import Contribution
from azul.plugins.metadata.hca import transform_entities as inner
from azul.plugins.metadata.hca.model import V5_PROTOCOL_PROCESSES, Entity, HCABundle
from azul.plugins.repository.base import Bundle

log = logging.getLogger(__name__)

ENTITY_TYPES = ('files', 'samples', 'projects', 'bundles', 'cell_suspensions')

INNER_ENTITY_TYPES = (
    'files', 'samples', 'specimens', 'cell_suspensions', 'cell_lines', 'organoids', 'donors',
    'protocols', 'sequencing_processes', 'sequencing_inputs', 'projects', 'dates',
    'aggregate_dates', 'cell_counts',
)

JSON = dict[str, Any]

# Biomaterial schema name -> inner entity type
_biomaterial_types = {
    'specimen_from_organism': 'specimens',
    'cell_line': 'cell_lines',
    'organoid': 'organoids',
    'donor_organism': 'donors',
    'cell_suspension': 'cell_suspensions',
}


# Inner entity type -> how to build one inner entity dict
_builders: dict[str, Callable[[Entity, HCABundle], JSON]] = {
    'files': inner.file,
    'cell_suspensions': inner.cell_suspension,
    'specimens': lambda e, _: inner.specimen(e),
    'cell_lines': lambda e, _: inner.cell_line(e),
    'organoids': lambda e, _: inner.organoid(e),
    'donors': lambda e, _: inner.donor(e),
    'samples': lambda e, _: inner.sample(e),
    'protocols': lambda e, _: inner.protocol(e),
    'sequencing_inputs': lambda e, _: inner.sequencing_input(e),
}


def transform_bundle(bundle: Bundle, deleted: bool) -> list[Contribution]:
    return _Transformer(bundle).contributions(deleted)


class _Transformer:

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.model = HCABundle(bundle)
        self._memo: dict[tuple[str, str], JSON] = {}
        self._contents_memo: dict[tuple[frozenset[str], frozenset[str]], JSON] = {}
        model = self.model
        self.sequencing_processes = {pid for pid in model.inputs
                                     if pid in model.entities and model.is_sequencing_process(pid)}
        self.sequencing_inputs = {
            i for pid in self.sequencing_processes for i in model.inputs[pid]
            if i in model.entities and model.entities[i].schema_type == 'biomaterial'
        }

    def _cached(self, kind: str, entity: Entity, build: Callable[[], JSON]) -> JSON:
        key = (kind, entity.document_id)
        value = self._memo.get(key)
        if value is None:
            value = self._memo[key] = build()
        return value

    def _inner(self, kind: str, entity: Entity) -> JSON:
        return self._cached(kind, entity, lambda: _builders[kind](entity, self.model))

    # Outer entities

    def _own_files(self) -> list[Entity]:
        return [f for f in self.model.files if not self.model.is_stitched(f)]

    def contributions(self, deleted: bool) -> list[Contribution]:
        model = self.model
        own_files = self._own_files()
        result = []

        def add(entity_type: str, entity_id: str, make: Callable[[], JSON]) -> None:
            contents = {} if deleted else make()
            result.append(Contribution(entity_type=entity_type,
                                       entity_id=entity_id,
                                       bundle=model.fqid,
                                       source=model.source,
                                       deleted=deleted,
                                       contents=contents))

        for f in own_files:
            add('files', f.document_id, lambda f=f: self._file_contents(f))
        derived_from = set()
        for f in own_files:
            derived_from |= model.ancestors(f.document_id)
        sample_ids = set()
        for f in own_files:
            sample_ids |= model.nearest_samples(f.document_id)
        for sample_id in sorted(sample_ids):
            s = model.entities[sample_id]
            add('samples', sample_id, lambda s=s: self._sample_contents(s))
        for cs in model.of_type('cell_suspension'):
            if not model.is_stitched(cs) or cs.document_id in derived_from:
                add('cell_suspensions', cs.document_id,
                    lambda cs=cs: self._cell_suspension_contents(cs))
        project = model.project
        add('projects', project.document_id, lambda: self._container_contents(project=True))
        add('bundles', model.fqid.uuid, lambda: self._container_contents(project=False))
        return result

    def _file_contents(self, f: Entity) -> JSON:
        contents = self._contents(self.model.related(f.document_id),
                                  self.model.nearest_samples(f.document_id))
        contents['files'] = [self._inner('files', f)]
        contents['dates'] = [inner.dates(f.document_id, f.submission_date, f.update_date)]
        return contents

    def _sample_contents(self, s: Entity) -> JSON:
        contents = self._contents(self.model.related(s.document_id) | {s.document_id}, ())
        contents['samples'] = [self._inner('samples', s)]
        contents['dates'] = [inner.dates(s.document_id, s.submission_date, s.update_date)]
        return contents

    def _cell_suspension_contents(self, cs: Entity) -> JSON:
        cs_id = cs.document_id
        contents = self._contents(self.model.related(cs_id) | {cs_id},
                                  self.model.nearest_samples(cs_id))
        # Related cell suspensions (a chain of them) stay out: their cells are
        # not this one's
        own = self._inner('cell_suspensions', cs)
        contents['cell_suspensions'] = [own]
        contents['cell_counts'] = [{'document_id': cs_id,
                                    'total_estimated_cells': own['total_estimated_cells']}]
        contents['dates'] = [inner.dates(cs_id, cs.submission_date, cs.update_date)]
        return contents

    def _container_contents(self, *, project: bool) -> JSON:
        model = self.model
        samples = set()
        for f in model.files:
            samples |= model.nearest_samples(f.document_id)
        contents = self._contents(model.entities.keys() | model.inputs.keys(), samples)
        p = model.project
        own = [e for e in model.entities.values() if not model.is_stitched(e)]
        contents['aggregate_dates'] = [inner.aggregate_dates(model.fqid.uuid, own)]
        if project:
            contents['projects'] = [inner.project(p, with_description=True)]
            contents['dates'] = [inner.dates(p.document_id, p.submission_date, p.update_date)]
            cells = p.content.get('estimated_cell_count')
            contents['cell_counts'].append({'document_id': p.document_id,
                                            'estimated_cell_count': cells})
        else:
            version = model.fqid.version
            contents['dates'] = [inner.dates(model.fqid.uuid, version, version)]
        return contents

    # Inner entities

    def _contents(self, related: Iterable[str], samples: Iterable[str]) -> JSON:
        """
        The inner entities of the given related entities and samples. Many
        outer entities share the same related entities (the fastqs of one
        sequencing run), so the lists are built once per distinct set and
        copied, never shared, because callers replace or extend some of them.
        """
        key = (frozenset(related), frozenset(samples))
        contents = self._contents_memo.get(key)
        if contents is None:
            contents = self._contents_memo[key] = self._build_contents(*key)
        return {kind: list(entities) for kind, entities in contents.items()}

    def _build_contents(self, related: Iterable[str], samples: Iterable[str]) -> JSON:
        model = self.model
        entities = model.entities
        out: dict[str, list[JSON]] = {kind: [] for kind in INNER_ENTITY_TYPES}
        processes = []
        for entity_id in sorted(related):
            if entity_id in model.inputs:
                processes.append(entity_id)
            entity = entities.get(entity_id)
            if entity is None:
                continue
            kind = _biomaterial_types.get(entity.schema_name)
            if kind is not None:
                out[kind].append(self._inner(kind, entity))
            elif entity.is_file and entity_id in model.manifest:
                out['files'].append(self._inner('files', entity))
            if entity_id in self.sequencing_inputs:
                out['sequencing_inputs'].append(self._inner('sequencing_inputs', entity))
        protocols = {}
        for pid in processes:
            process = entities.get(pid)
            if process is not None and process.schema_name in V5_PROTOCOL_PROCESSES:
                protocols[pid] = process
            for protocol_id in model.protocols.get(pid, ()):
                protocol = entities.get(protocol_id)
                if protocol is not None:
                    protocols[protocol_id] = protocol
            if pid in self.sequencing_processes:
                out['sequencing_processes'].append({'document_id': pid})
        out['protocols'] = [self._inner('protocols', protocols[k]) for k in sorted(protocols)]
        out['samples'] = [self._inner('samples', entities[s]) for s in sorted(samples)]
        out['projects'] = [self._cached('projects', model.project,
                                        lambda: inner.project(model.project,
                                                              with_description=False))]
        out['cell_counts'] = [{'document_id': cs['document_id'],
                               'total_estimated_cells': cs['total_estimated_cells']}
                              for cs in out['cell_suspensions']]
        return out
