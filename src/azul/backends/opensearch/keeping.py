"""
Unfiltered counts kept by the OpenSearch backend's writers, and read by its
readers only when provably current. A mixin of `OpenSearchBackend`.

Why: at a million documents every unfiltered page counted ~35 terms of each
document (45 ms of node CPU) and a summary ran its aggregations over all of
them; DuckDB keeps these counts in its write transactions. OpenSearch has no
transaction across documents, so the counts document (see `kept`) says when
it can be trusted:

- A writer registers in it before its bulk request (a scripted update,
  atomic on the one document), with a lease: the time by which it has
  finished or is dead (`counts_lease`, by default the indexer's hard time
  limit plus a margin). After its writes are visible (`refresh=true` or
  `wait_for`) it applies the delta of the writes that succeeded (not the
  409s) and deregisters in one scripted update; a writer whose registration
  is gone, or that cannot say exactly what it changed (a failed request, no
  refresh, writes that landed in another generation), marks the counts
  invalid instead.
- A reader of an unfiltered page or summary gets the document (real-time)
  and uses it only if valid and no writer is registered; otherwise it
  searches as before. It gets the document's version first (`_seq_no`,
  `_primary_term`, no source): a version read before comes with the
  responses built from it then, which that version cannot invalidate. If the counts
  are invalid, or every registration has expired, that reader counts anew
  (after a refresh) and stores the counts conditionally on the document
  being unchanged since it read it (if_seq_no), clearing the expired
  registrations: a writer registering meanwhile makes the store fail. A
  writer registered but never finishing thus costs the readers the old path
  until its lease ends.
- `bulk_load` writes without registering: it marks the counts `loading`, and
  at its end (after the refresh and merge) counts each index anew, clearing
  every registration, as a writer that outlived its lease is cleared.

The counts live in their own index per catalog and generation
(`<catalog>_counts`), aliased like the aggregate indices, so the switch to a
new generation switches the counts with the aggregates in one request, and a
new generation starts from its own counts. Readers and the recount address
the concrete index the document was read from, never the alias again, so a
switch in between cannot mix generations.

Trust in the lease: it must outlast the writer. The indexer's aggregating
function runs at most 240 s (terraform), below the queue's visibility timeout
(300 s); a bulk request sent before that still completes within
AZUL_ES_TIMEOUT. A writer without a hard limit (a local indexer) that stalls
past its lease has its registration cleared and marks the counts invalid when
it settles; between the recount and that, readers may miss its writes.
Clocks: deadlines are compared across processes; skew shortens or extends
leases by as much.
"""
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_errors

from azul.backends.base import GENERATION_SEPARATOR, index_name, split_generation
from azul.backends.opensearch import kept
from azul.backends.opensearch.cache import ResultCache
from azul.backends.opensearch.errors import translated
from azul.backends.opensearch.mapping import FACET_TERMS
from azul.backends.opensearch.queries import FACET_TERMS_SIZE

log = logging.getLogger(__name__)

# Seconds a writer's registration holds: the aggregating function's limit
# (240 s), the queue's visibility timeout above it (300 s), and a request
# already sent (AZUL_ES_TIMEOUT, 30 s by default), with room to spare
COUNTS_LEASE = 360.0

# Attempts at an update of the counts document that conflicts with another
CONFLICT_ATTEMPTS = 20

Counts = Mapping[str, Any]


@attrs.frozen
class Registration:
    """A writer's registration in the counts document of one concrete counts index."""
    writer: str
    counts_index: str
    entity_type: str
    # The groupings kept, whose deltas the writer computes
    spec: tuple[str, ...]

    @property
    def generation(self) -> str:
        return split_generation(self.counts_index)[1]


@attrs.frozen
class Kept:
    """Counts a reader may use, and the document they were read from."""
    counts: Counts
    counts_index: str
    entity_type: str
    version: tuple[int, int] | None
    # Responses built from these counts, which a version never changes
    built: dict[Any, Any] = attrs.field(factory=dict, eq=False)


# Versions of counts documents remembered, see `_kept`
KEPT_VERSIONS = 8


def _version_key(doc: Mapping[str, Any]) -> tuple[str, str, tuple[int, int]]:
    return doc['_index'], doc['_id'], (doc['_seq_no'], doc['_primary_term'])


class Keeping:
    # Provided by the backend
    endpoint: str
    prefix: str
    deployment: str
    refresh: Any
    kept_counts: bool
    counts_lease: float
    _reader: OpenSearch
    _writer: OpenSearch
    _building: dict[str, str]
    _numeric_of: dict[str, list[str]]
    # Versions of counts documents remembered with what was built from them
    _kept_versions: ResultCache
    # And `_facets`, `_index`, `_create_index`

    def _counts_index(self, catalog: str) -> str:
        # Matched by the catalog's pattern: deleted, switched and abandoned with it
        name = f'{self.prefix}_{self.deployment}_{catalog}_counts'
        generation = self._building.get(catalog, '')
        return f'{name}{GENERATION_SEPARATOR}{generation}' if generation else name

    def _create_counts(self, catalog: str, entity_types: Sequence[str], loading: bool,
                       settings: Mapping[str, Any]) -> None:
        index = self._counts_index(catalog)
        self._create_index(index, settings, {'dynamic': False, 'properties': {}})
        body = {'valid': False, 'leases': {}, **({'loading': True} if loading else {})}
        for entity_type in entity_types:
            with translated(self.endpoint):
                try:
                    self._writer.create(index=index, id=entity_type, body=body, refresh=False)
                except os_errors.ConflictError:
                    pass

    def _numeric(self, index: str) -> list[str]:
        """The numeric properties under `fields` of an aggregate index, whose sums are kept."""
        if index not in self._numeric_of:
            with translated(self.endpoint):
                [response] = self._reader.indices.get_mapping(index=index).values()
            properties = response['mappings']['properties']['fields']['properties']
            self._numeric_of[index] = sorted(p for p, m in properties.items()
                                             if m.get('type') in kept.NUMERIC_TYPES)
        return self._numeric_of[index]

    def _old_sources(self, index: str, expected: Mapping[str, tuple[int, int]]
                     ) -> dict[str, Mapping[str, Any]]:
        """The counted parts of the documents that conditional writes replace, by id."""
        if not expected:
            return {}
        fields = [FACET_TERMS] + [f'fields.{p}' for p in self._numeric(index)]
        with translated(self.endpoint):
            response = self._reader.mget(index=index, body={'ids': list(expected)},
                                         _source_includes=fields)
        # A document of another version fails its conditional write (a 409)
        return {doc['_id']: doc.get('_source', {}) for doc in response['docs']
                if doc.get('found')
                and (doc['_seq_no'], doc['_primary_term']) == tuple(expected[doc['_id']])}

    def _update(self, index: str, entity_type: str, script: str,
                params: Mapping[str, Any], **kwargs) -> Mapping[str, Any] | None:
        """A scripted update, retried on conflict; None if there is no counts document."""
        body = {'script': {'source': script, 'lang': 'painless', 'params': dict(params)}}
        for _ in range(CONFLICT_ATTEMPTS):
            with translated(self.endpoint):
                try:
                    return self._writer.update(index=index, id=entity_type, body=body,
                                               refresh=False, **kwargs)
                except os_errors.ConflictError:
                    continue
                except os_errors.NotFoundError:
                    return None
        raise os_errors.ConflictError(409, 'version_conflict_engine_exception',
                                      f'{index}/{entity_type}')

    def _register(self, catalog: str, entity_type: str) -> Registration | None:
        if not self.kept_counts:
            return None
        writer = uuid.uuid4().hex
        response = self._update(self._counts_index(catalog), entity_type, kept.REGISTER,
                                {'id': writer, 'deadline': time.time() + self.counts_lease},
                                _source_includes='spec')
        if response is None:
            # No counts (an index made before them): nothing to keep, nothing to read
            return None
        spec = response.get('get', {}).get('_source', {}).get('spec') or ()
        return Registration(writer, response['_index'], entity_type, tuple(spec))

    def _settle(self, registration: Registration, delta: kept.Delta | None) -> None:
        """Apply `delta` and deregister, or (None) deregister and mark the counts invalid."""
        params = {'id': registration.writer, 'apply': delta is not None,
                  'exact': kept.EXACT, 'max_terms': FACET_TERMS_SIZE,
                  **(delta.params() if delta is not None else {})}
        self._update(registration.counts_index, registration.entity_type, kept.SETTLE, params)

    def _invalidate(self, counts_index: str, entity_type: str) -> None:
        self._update(counts_index, entity_type, kept.INVALIDATE, {})

    def _written_elsewhere(self, registration: Registration, results: Sequence[Any]) -> bool:
        """Whether a write went to another generation than the one registered in."""
        others = {split_generation(r['_index'])[1] for r in results if '_index' in r}
        others.discard(registration.generation)
        for generation in others:
            plain = split_generation(registration.counts_index)[0]
            self._invalidate(f'{plain}{GENERATION_SEPARATOR}{generation}' if generation
                             else plain, registration.entity_type)
        return bool(others)

    # Readers

    def _kept(self, catalog: str, entity_type: str) -> Kept | None:
        """The live generation's counts if current, else None (then search)."""
        if not self.kept_counts or catalog in self._building:
            return None
        index = self._counts_index(catalog)
        with translated(self.endpoint):
            try:
                # The version alone first: one read before is known, with what
                # was built from it. (Filtering the source would parse all of
                # it on the node: 28 ms for 686 kB, against 3 ms for all of it.)
                doc = self._reader.get(index=index, id=entity_type, _source=False)
                found = self._kept_versions.get(_version_key(doc))  # type: ignore[arg-type]
                if found is None:
                    doc = self._reader.get(index=index, id=entity_type)
                    found = Kept(doc['_source'], doc['_index'], entity_type,
                                 (doc['_seq_no'], doc['_primary_term']))
                    self._remember(found)
            except os_errors.NotFoundError:
                return None
        if kept.usable(found.counts):
            return found
        if kept.recountable(found.counts, time.time()):
            return self._recount(found.counts_index, entity_type, found.version, found.counts,
                                 refresh=True)[0]
        return None

    def _remember(self, found: Kept) -> None:
        key = found.counts_index, found.entity_type, found.version
        self._kept_versions.put(key, found)  # type: ignore[arg-type]

    def _recount(self, counts_index: str, entity_type: str, version: tuple[int, int] | None,
                 previous: Counts, refresh: bool, spec: Sequence[str] | None = None
                 ) -> tuple[Kept | None, bool]:
        """
        Count the aggregates of the generation of `counts_index` anew, with the
        groupings of the `previous` counts (or `spec`), and store the counts
        unless the document changed since `version`. The counts, usable by the
        caller (as current as a search), or None if unkept; whether they were
        stored (or there is nothing to count).
        """
        plain, generation = split_generation(counts_index)
        catalog = plain.removeprefix(f'{self.prefix}_{self.deployment}_').removesuffix('_counts')
        index = index_name(self.prefix, self.deployment, catalog, entity_type, True, generation)
        with translated(self.endpoint):
            if not self._reader.indices.exists(index=index):
                # An entity type added to the live catalog outside its
                # generation (a plain index): counted from its next reindex on
                return None, True
        numeric = self._numeric(index)
        if spec is None:
            spec = previous.get('spec') or ()
        body = kept.recount_body(numeric, FACET_TERMS_SIZE, spec)
        with translated(self.endpoint):
            if refresh:
                # Writes of a writer past its lease may not have been refreshed
                self._writer.indices.refresh(index=index)
            response = self._reader.search(index=index, body=body, request_cache=False)
            counts = kept.recounted(response, numeric, spec, previous.get('refused') or ())
            condition = {} if version is None else {'if_seq_no': version[0],
                                                    'if_primary_term': version[1]}
            try:
                stored = self._writer.index(index=counts_index, id=entity_type, body=counts,
                                            refresh=False, **condition)
                version = stored['_seq_no'], stored['_primary_term']
            except os_errors.ConflictError:
                log.info('Counts of %s changed while counting them; not stored', index)
                version = None
        result = Kept(counts, counts_index, entity_type, version)
        return result if kept.usable(counts) else None, version is not None

    def _mark_loading(self, catalog: str) -> list[str]:
        """Mark the counts of the catalog's indices written by `bulk_load`; their ids."""
        index = self._counts_index(catalog)
        with translated(self.endpoint):
            try:
                self._writer.indices.refresh(index=index)
                hits = self._reader.search(index=index, body={'size': 1000, '_source': False})
            except os_errors.NotFoundError:
                return []
        ids = [hit['_id'] for hit in hits['hits']['hits']]
        for entity_type in ids:
            self._update(index, entity_type, kept.LOADING, {})
        return ids

    def _recount_loaded(self, catalog: str) -> None:
        """At the end of `bulk_load`: count every index anew, clearing all registrations."""
        index = self._counts_index(catalog)
        with translated(self.endpoint):
            try:
                self._writer.indices.refresh(index=index)
                hits = self._reader.search(index=index, body={'size': 1000, '_source': False})
            except os_errors.NotFoundError:
                return
        for hit in hits['hits']['hits']:
            for _ in range(CONFLICT_ATTEMPTS):
                with translated(self.endpoint):
                    doc = self._reader.get(index=hit['_index'], id=hit['_id'],
                                           _source_includes=['spec', 'refused'])
                version = doc['_seq_no'], doc['_primary_term']
                spec = list(doc['_source'].get('spec') or ())
                spec += [key for key in self._live_spec(catalog, hit['_id']) if key not in spec]
                if self._recount(hit['_index'], hit['_id'], version, doc['_source'],
                                 refresh=False, spec=spec)[1]:
                    break

    def _live_spec(self, catalog: str, entity_type: str) -> list[str]:
        """The groupings the generation readers use keeps, which a new one keeps too."""
        if catalog not in self._building:
            return []
        plain = self._counts_index(catalog).rsplit(GENERATION_SEPARATOR, 1)[0]
        with translated(self.endpoint):
            try:
                doc = self._reader.get(index=plain, id=entity_type, _source_includes='spec')
            except os_errors.NotFoundError:
                return []
        return list(doc['_source'].get('spec') or ())

    def _settle_writes(self, registration: Registration, index: str,
                       actions: Sequence[Mapping[str, Any]],
                       done: Sequence[Mapping[str, Any]], old: Mapping[str, Mapping[str, Any]],
                       exact: bool) -> None:
        """
        Settle after a bulk request: `done`, the results of the actions that
        succeeded; `old`, the counted parts of the documents replaced or deleted.
        """
        if not exact or self._written_elsewhere(registration, done):
            self._settle(registration, None)
            return
        ids = {r['_id'] for r in done}
        removed, added = [], []
        for action in actions:
            entity_id = action['_id']
            if entity_id not in ids:
                continue
            if 'if_seq_no' in action:
                if entity_id not in old:
                    # Replaced a version other than the one read: unknown change
                    self._settle(registration, None)
                    return
                removed.append(old[entity_id])
            if action['_op_type'] != 'delete':
                added.append(action['_source'])
        self._settle(registration, kept.delta(removed, added, self._numeric(index),
                                              registration.spec))
