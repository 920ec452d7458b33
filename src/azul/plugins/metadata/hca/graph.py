"""
The provenance graph of a bundle as the original Azul walks it: every linked
entity has ordered `children` and `parents`, built link by link (a process's
inputs, then its outputs, then its protocols), and the visits of an entity
are its descendants depth first (`accept`) followed by its ancestors, each
after its own ancestors (`ancestors`).

The order matters to clients: the files of a bundle hit and the groups of
`fileTypeSummaries` come out in first-visit order. Both walks are memoized per
entity, so that the hundreds of files of one sequencing run share one list.
"""
import threading
from collections.abc import Iterable

from azul.plugins.metadata.hca.model import HCABundle
from azul.plugins.repository.base import Bundle

Ids = tuple[str, ...]


class Graph:

    def __init__(self, bundle: HCABundle):
        self.bundle = bundle
        self.children: dict[str, dict[str, None]] = {}
        self.parents: dict[str, dict[str, None]] = {}
        # Links to entities without a metadata document are kept, so that the
        # walks still reach what lies beyond them; the visits skip them
        for link in bundle.links.processes:
            pid = link.process_id
            for i in link.inputs:
                self._connect(i, pid)
            for o in link.outputs:
                self._connect(pid, o)
            for p in link.protocols:
                self._connect(pid, p)
        self._accept: dict[str, Ids] = {}
        self._ancestors: dict[str, Ids] = {}
        self._samples: dict[str, Ids] = {}

    def _connect(self, source: str, destination: str) -> None:
        self.children.setdefault(source, {})[destination] = None
        self.parents.setdefault(destination, {})[source] = None

    def accept(self, entity_id: str) -> Ids:
        """The entity and its descendants, depth first, each once."""
        result = self._accept.get(entity_id)
        if result is None:
            # A cycle in malformed links ends at the entity already on the path
            self._accept[entity_id] = (entity_id,)
            found = [entity_id]
            for child in self.children.get(entity_id, ()):
                found.extend(self.accept(child))
            result = self._accept[entity_id] = tuple(dict.fromkeys(found))
        return result

    def ancestors(self, entity_id: str) -> Ids:
        """The entity's ancestors, each after its own ancestors, each once."""
        result = self._ancestors.get(entity_id)
        if result is None:
            self._ancestors[entity_id] = ()
            found = []
            for parent in self.parents.get(entity_id, ()):
                found.extend(self.ancestors(parent))
                found.append(parent)
            # In a cycle of malformed links an entity is not its own ancestor
            result = tuple(e for e in dict.fromkeys(found) if e != entity_id)
            self._ancestors[entity_id] = result
        return result

    def visits(self, entity_ids: Iterable[str]) -> Ids:
        """What a visitor sees of `accept` and then `ancestors` of each entity."""
        found: dict[str, None] = {}
        for entity_id in entity_ids:
            found.update(dict.fromkeys(self.accept(entity_id)))
            found.update(dict.fromkeys(self.ancestors(entity_id)))
        return tuple(found)

    def ancestor_samples(self, entity_id: str) -> Ids:
        """
        The nearest samples (specimens, cell lines, organoids) at or above an
        entity: the search stops at the first sample on each path up.
        """
        result = self._samples.get(entity_id)
        if result is None:
            entity = self.bundle.entities.get(entity_id)
            if entity is not None and entity.is_sample:
                result = (entity_id,)
            else:
                self._samples[entity_id] = ()
                found: dict[str, None] = {}
                for parent in self.parents.get(entity_id, ()):
                    found.update(dict.fromkeys(self.ancestor_samples(parent)))
                result = tuple(found)
            self._samples[entity_id] = result
        return result

    def roots(self) -> Ids:
        return tuple(e for e in self.bundle.entities
                     if e in self.children and not self.parents.get(e))

    def leaf_cell_suspensions(self) -> frozenset[str]:
        """
        Cell suspensions without a cell suspension below them: their cells
        are counted; those of the others would be counted twice.
        """
        entities = self.bundle.entities
        suspensions = {e for e, v in entities.items() if v.schema_name == 'cell_suspension'}
        non_leaf = set()
        for cs in suspensions:
            if any(d in suspensions for d in self.accept(cs)[1:]):
                non_leaf.add(cs)
        return frozenset(suspensions - non_leaf)


# The bundle whose graph was built last in this thread, and the graph
_last = threading.local()


def graph_of(bundle: Bundle, reuse: bool = False) -> Graph:
    """
    The bundle's model and graph (`Graph.bundle` is the model). The indexer
    transforms a bundle and then makes its replicas: with `reuse`, the
    graph the transform built for the very same bundle object serves again,
    its walks done (parsing the documents and building the graph again cost
    about 6% of the two), and is let go. Without, a new one, kept for that.
    Per thread, as the walks' memos are no place for two threads at once.
    """
    last = getattr(_last, 'graph', None)
    _last.graph = None
    if reuse and last is not None and last[0] is bundle:
        return last[1]
    graph = Graph(HCABundle(bundle))
    if not reuse:
        _last.graph = (bundle, graph)
    return graph
