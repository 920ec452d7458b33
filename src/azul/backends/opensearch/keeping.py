"""
Unfiltered counts kept by the OpenSearch backend's writers, and read by its
readers only when provably current. A mixin of `OpenSearchBackend`.

Why: at a million documents every unfiltered page counted ~35 terms of each
document (45 ms of node CPU) and a summary ran its aggregations over all of
them; DuckDB keeps these counts in its write transactions. OpenSearch has no
transaction across documents, so a small state document per entity type
says when the counts (see `count_docs`: the count documents of an epoch, and
the deltas listed since) can be trusted:

- A writer registers in the state before its bulk request (a scripted
  update, atomic on the one small document), with a lease: the time by
  which it has finished or is dead (`counts_lease`, by default the
  indexer's hard time limit plus a margin). After its writes are visible
  (`refresh=true` or `wait_for`) it writes the delta of the writes that
  succeeded (not the 409s) as a document of its own and, in the same
  request, deregisters, listing the delta in the state. Concurrent writers
  thus meet only on the small state. A writer whose registration is gone,
  or that cannot say exactly what it changed (a failed request, no refresh,
  writes that landed in another generation), marks the counts invalid
  instead.
- A reader of an unfiltered page or summary gets the state (real-time,
  small) and uses the counts only if valid and no writer is registered;
  otherwise it searches as before. The state's epoch and its deltas name the
  counts' content: one read before comes with the responses built from it
  then. Otherwise the reader reads what it has not read yet: the epoch's
  count documents (one search, after a refresh, checked against their number
  in the state), and the deltas (a real-time multi-get), and adds them up. A
  document missing while the state still lists it means lost counts: that
  reader counts anew; missing because a fold or recount moved the state on
  meanwhile, it searches. Past `count_docs.MAX_DELTAS` deltas it folds them
  into a new epoch.
- If the counts are invalid, or every registration has expired, that reader
  counts anew: it claims the recount (a write of the state conditional on
  the version it read, clearing the expired registrations), refreshes,
  counts with one search, writes the count documents of a new epoch, and
  switches the state to it, conditionally again: a writer registering
  meanwhile makes the switch fail, and a later reader counts again. The
  reader answers from its own count either way. A writer registered but
  never finishing thus costs the readers the old path until its lease ends.
- `bulk_load` writes without registering: it marks the state `loading`, and
  at its end (after the refresh and merge) counts each index anew, clearing
  every registration, as a writer that outlived its lease is cleared.

The counts live in their own index per catalog and generation
(`<catalog>_counts`), aliased like the aggregate indices, so the switch to a
new generation switches the counts with the aggregates in one request, and a
new generation starts from its own counts. Readers and the recount address
the concrete index the state was read from, never the alias again, so a
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
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from opensearchpy import OpenSearch, helpers
from opensearchpy import exceptions as os_errors

from azul.backends.base import GENERATION_SEPARATOR, index_name, split_generation
from azul.backends.opensearch import count_docs, kept
from azul.backends.opensearch.cache import ResultCache
from azul.backends.opensearch.errors import translated
from azul.backends.opensearch.mapping import FACET_TERMS
from azul.backends.opensearch.queries import FACET_TERMS_SIZE
from azul.errors import AzulError

log = logging.getLogger(__name__)

# Seconds a writer's registration holds: the aggregating function's limit
# (240 s), the queue's visibility timeout above it (300 s), and a request
# already sent (AZUL_ES_TIMEOUT, 30 s by default), with room to spare
COUNTS_LEASE = 360.0

# Seconds a reader's claim to count anew holds (at 1M: ~3 s); past it,
# another reader may count
RECOUNT_LEASE = 120.0

# Attempts at an update of a state document that conflicts with another
CONFLICT_ATTEMPTS = 20

Counts = Mapping[str, Any]

# What a writer needs to know of the state it registered in
_REGISTERED = ['spec', 'epoch', 'valid', 'loading', 'unkept', 'recount']


@attrs.frozen
class Registration:
    """A writer's registration in the state of one concrete counts index."""
    writer: str
    counts_index: str
    entity_type: str
    # The groupings kept, whose deltas the writer computes
    spec: tuple[str, ...]
    # The epoch of the counts when it registered, None if they were not
    # valid (then it writes no delta: they are counted anew)
    epoch: int | None = None

    @property
    def generation(self) -> str:
        return split_generation(self.counts_index)[1]


@attrs.frozen
class Kept:
    """Counts a reader may use, and the state they were read with."""
    counts: Counts
    counts_index: str
    entity_type: str
    # Of the state
    version: tuple[int, int] | None
    # Responses built from these counts, whose content never changes
    built: dict[Any, Any] = attrs.field(factory=dict, eq=False)


# Contents of counts remembered, see `_kept`
KEPT_VERSIONS = 8

# Counted parts of aggregates remembered from `read_versions` for the write
# after it: several batches' worth
COUNTED_SOURCES = 10_000

VERSIONS_PAGE = 1000

# Deltas remembered, by id: those of a few states
DELTAS_READ = 4 * 64


def _content_key(index: str, entity_type: str, state: Counts) -> tuple[Any, ...]:
    # A state's deltas are listed in order, and only ever appended to
    return index, entity_type, state.get('epoch'), tuple(state.get('deltas') or ())


def _version(doc: Mapping[str, Any]) -> tuple[int, int]:
    return doc['_seq_no'], doc['_primary_term']


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
    # Contents of counts remembered with what was built from them
    _kept_versions: ResultCache
    # (aggregate index, id, version) -> the counted parts, see `read_versions`
    _counted: ResultCache
    _deltas_read: ResultCache
    _latest: dict[tuple[str, str], tuple[int, tuple[str, ...], Counts]]
    # And `_facets`, `_index`, `_create_index`

    def _init_keeping(self) -> None:
        self._numeric_of = {}
        self._kept_versions = ResultCache(KEPT_VERSIONS)
        self._counted = ResultCache(COUNTED_SOURCES)
        # Deltas read, by id (a delta never changes)
        self._deltas_read = ResultCache(DELTAS_READ)
        # (counts index, entity type) -> (epoch, deltas, counts) last built
        self._latest: dict[tuple[str, str], tuple[int, tuple[str, ...], Counts]] = {}

    def _counts_index(self, catalog: str) -> str:
        # Matched by the catalog's pattern: deleted, switched and abandoned with it
        name = f'{self.prefix}_{self.deployment}_{catalog}_counts'
        generation = self._building.get(catalog, '')
        return f'{name}{GENERATION_SEPARATOR}{generation}' if generation else name

    def _create_counts(self, catalog: str, entity_types: Sequence[str], loading: bool,
                       settings: Mapping[str, Any]) -> None:
        index = self._counts_index(catalog)
        # One shard: a delta and the state that lists it are written in one
        # request, in order, which holds only on one shard
        settings = {**settings, 'index': {**settings.get('index', {}), 'number_of_shards': 1,
                                          'max_result_window': count_docs.MAX_DOCS}}
        self._create_index(index, settings, count_docs.MAPPINGS)
        body = {'valid': False, 'leases': {}, 'epoch': 0, 'deltas': [], 'size': 0,
                **({'loading': True} if loading else {})}
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
                try:
                    [response] = self._reader.indices.get_mapping(index=index).values()
                except os_errors.NotFoundError:
                    # No index yet: nothing to read or count
                    return []
            properties = response['mappings']['properties']['fields']['properties']
            self._numeric_of[index] = sorted(p for p, m in properties.items()
                                             if m.get('type') in kept.NUMERIC_TYPES)
        return self._numeric_of[index]

    def read_versions(self, catalog: str, entity_type: str,
                      entity_ids: Sequence[str]) -> Mapping[str, tuple[int, int]]:
        """
        The versions, without the documents. With kept counts, the counted
        parts of those versions too, remembered for the write that follows
        (an aggregation reads versions, then writes): it then need not read
        them again. A version's content never changes.
        """
        index = self._index(catalog, entity_type, aggregate=True)  # type: ignore[attr-defined]
        options: dict[str, Any] = {'_source': False}
        if self.kept_counts:
            options = {'_source_includes': self._counted_fields(index)}
        versions = {}
        ids = list(dict.fromkeys(entity_ids))
        for i in range(0, len(ids), VERSIONS_PAGE):
            with translated(self.endpoint):
                try:
                    response = self._reader.mget(index=index,
                                                 body={'ids': ids[i:i + VERSIONS_PAGE]},
                                                 **options)
                except os_errors.NotFoundError:
                    return {}
            for doc in response['docs']:
                if doc.get('found'):
                    version = versions[doc['_id']] = _version(doc)
                    if self.kept_counts:
                        self._counted.put((index, doc['_id'], version),  # type: ignore[arg-type]
                                          doc.get('_source', {}))
                elif 'error' in doc:
                    if doc['error'].get('type') == 'index_not_found_exception':
                        return {}
                    raise AzulError(f'OpenSearch at {self.endpoint} failed to read '
                                    f"{doc['_id']!r}: {doc['error']}")
        return versions

    def _counted_fields(self, index: str) -> list[str]:
        return [FACET_TERMS] + [f'fields.{p}' for p in self._numeric(index)]

    def _old_sources(self, index: str, expected: Mapping[str, tuple[int, int]]
                     ) -> dict[str, Mapping[str, Any]]:
        """The counted parts of the documents that conditional writes replace, by id."""
        found: dict[str, Mapping[str, Any]] = {}
        for entity_id, version in expected.items():
            source = self._counted.get((index, entity_id, tuple(version)))  # type: ignore[arg-type]
            if source is not None:
                found[entity_id] = source
        missing = [entity_id for entity_id in expected if entity_id not in found]
        if not missing:
            return found
        with translated(self.endpoint):
            response = self._reader.mget(index=index, body={'ids': missing},
                                         _source_includes=self._counted_fields(index))
        # A document of another version fails its conditional write (a 409)
        found.update({doc['_id']: doc.get('_source', {}) for doc in response['docs']
                      if doc.get('found')
                      and _version(doc) == tuple(expected[doc['_id']])})
        return found

    def _update(self, index: str, entity_type: str, script: str,
                params: Mapping[str, Any], **kwargs) -> Mapping[str, Any] | None:
        """A scripted update of a state, retried on conflict; None if there is none."""
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
        response = self._update(self._counts_index(catalog), entity_type, count_docs.REGISTER,
                                {'id': writer, 'deadline': time.time() + self.counts_lease},
                                _source_includes=_REGISTERED)
        if response is None:
            # No counts (an index made before them): nothing to keep, nothing to read
            return None
        state = response.get('get', {}).get('_source', {})
        # Counts not valid are counted anew, after this writer settles
        keeping = state.get('valid') is True and not (
            state.get('loading') or state.get('unkept') or state.get('recount'))
        return Registration(writer, response['_index'], entity_type,
                            tuple(state.get('spec') or ()),
                            state.get('epoch', 0) if keeping else None)

    def _settle(self, registration: Registration, delta: kept.Delta | None,
                also: Sequence[Mapping[str, Any]] = ()) -> None:
        """
        Deregister, listing `delta` (after writing it), or (None) deregister
        and mark the counts invalid. `also`: actions of other indices sent in
        the same request, which must succeed.
        """
        params = {'id': registration.writer, 'apply': delta is not None, 'delta': None,
                  'max_deltas': count_docs.LISTED_DELTAS}
        actions = []
        if delta is not None and registration.epoch is not None and (
                delta.total or delta.terms or any(delta.sums.values())
                or any(any(group.values()) for group in delta.grouped.values())):
            params['delta'] = registration.writer
            # One request, run in order on the one shard: the delta, then the
            # state that lists it. A delta listed but not written is found
            # missing by readers, who count anew.
            actions.append({'_op_type': 'index', '_index': registration.counts_index,
                            '_id': registration.writer,
                            '_source': count_docs.delta_source(registration.entity_type,
                                                               delta)})
        actions.append({'_op_type': 'update', '_index': registration.counts_index,
                        '_id': registration.entity_type, 'retry_on_conflict': CONFLICT_ATTEMPTS,
                        'script': {'source': count_docs.SETTLE, 'lang': 'painless',
                                   'params': params}})
        settle = len(actions) - 1
        statuses = self._written(actions + list(also))
        if statuses[settle] >= 300:
            # Not deregistered: once more, alone (which raises if it fails again)
            params['apply'] = False
            self._update(registration.counts_index, registration.entity_type,
                         count_docs.SETTLE, params)
        if any(status >= 300 for status in statuses[settle + 1:]):
            raise AzulError(f'OpenSearch at {self.endpoint} failed to write '
                            f'{[a["_index"] for a in also]}')

    def _written(self, actions: Sequence[Mapping[str, Any]]) -> list[int]:
        """The statuses of the actions of one bulk request on the counts, in order."""
        statuses = []
        with translated(self.endpoint):
            # No refresh: a reader refreshes before it searches count documents
            results = helpers.streaming_bulk(self._writer, actions,
                                             chunk_size=max(len(actions), 1),
                                             max_chunk_bytes=100 * 1024 * 1024,
                                             raise_on_error=False, raise_on_exception=True,
                                             max_retries=0, refresh=False)
            for _ok, item in results:
                [(_, result)] = item.items()
                if result['status'] >= 300:
                    log.warning('Kept counts: %s not written (%s): %s', result.get('_id'),
                                result['status'], result.get('error'))
                statuses.append(result['status'])
        return statuses

    def _invalidate(self, counts_index: str, entity_type: str) -> None:
        self._update(counts_index, entity_type, count_docs.INVALIDATE, {})

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

    def _state(self, index: str, entity_type: str) -> Mapping[str, Any] | None:
        with translated(self.endpoint):
            try:
                return self._reader.get(index=index, id=entity_type)
            except os_errors.NotFoundError:
                return None

    def _kept(self, catalog: str, entity_type: str) -> Kept | None:
        """The live generation's counts if current, else None (then search)."""
        if not self.kept_counts or catalog in self._building:
            return None
        doc = self._state(self._counts_index(catalog), entity_type)
        if doc is None:
            return None
        state, index, version = doc['_source'], doc['_index'], _version(doc)
        if kept.usable(state):
            key = _content_key(index, entity_type, state)
            found = self._kept_versions.get(key)  # type: ignore[arg-type]
            if found is None:
                found = self._read_counts(index, entity_type, state, version)
            if found is not None:
                # The version of the state, for a recount conditional on it
                return attrs.evolve(found, version=version)
            doc = self._state(index, entity_type)
            if doc is None or not self._broken(state, doc['_source']):
                # Folded or recounted meanwhile: a later reader reads the new ones
                return None
            log.warning('Kept counts of %s/%s are inconsistent; counting anew',
                        index, entity_type)
            state, version = doc['_source'], _version(doc)
        elif not kept.recountable(state, time.time()):
            return None
        return self._recount(index, entity_type, version, state, refresh=True)[0]

    @staticmethod
    def _broken(state: Counts, now: Counts) -> bool:
        """Whether counts that could not be read still are those of the state now."""
        ids = list(state.get('deltas') or ())
        return (kept.usable(now) and now.get('epoch') == state.get('epoch')
                and list(now.get('deltas') or ())[:len(ids)] == ids)

    def _base(self, index: str, entity_type: str, state: Counts) -> Counts | None:
        """
        The counts of the state's epoch, which never change once it is stored;
        None if not all there.
        """
        key = index, entity_type, state['epoch']
        base = self._kept_versions.get(key)  # type: ignore[arg-type]
        if base is None:
            with translated(self.endpoint):
                # Written without a refresh
                self._writer.indices.refresh(index=index)
                response = self._reader.search(
                    index=index, body=count_docs.search_body(entity_type, state['epoch']),
                    request_cache=False)
            sources = [hit['_source'] for hit in response['hits']['hits']]
            if len(sources) != state.get('size'):
                # Deleted by a fold or recount meanwhile (or lost)
                return None
            base = count_docs.assembled(state.get('spec') or (), sources)
            self._kept_versions.put(key, base)  # type: ignore[arg-type]
        return base

    def _deltas(self, index: str, ids: Sequence[str]) -> list[Mapping[str, Any]] | None:
        """The deltas of these ids, None if one is missing."""
        found = {i: self._deltas_read.get(i) for i in ids}
        missing = [i for i, d in found.items() if d is None]
        if missing:
            with translated(self.endpoint):
                # Real-time: no refresh needed
                response = self._reader.mget(index=index, body={'ids': missing})
            for doc in response['docs']:
                if not doc.get('found'):
                    return None
                found[doc['_id']] = delta = count_docs.delta_of(doc['_source'])
                self._deltas_read.put(doc['_id'], delta)  # type: ignore[arg-type]
        return list(found.values())  # type: ignore[arg-type]

    def _read_counts(self, index: str, entity_type: str, state: Counts,
                     version: tuple[int, int]) -> Kept | None:
        """
        The counts of a usable state not read before; None if some of its
        documents are missing (see `_broken`) or its deltas do not add up.
        """
        ids = list(state.get('deltas') or ())
        # From counts built of fewer of the deltas, where this process has them
        start, counts = 0, None
        latest = self._latest.get((index, entity_type))
        if latest is not None and latest[0] == state['epoch'] and tuple(
                ids[:len(latest[1])]) == latest[1]:
            start, counts = len(latest[1]), latest[2]
        if counts is None:
            counts = self._base(index, entity_type, state)
        deltas = self._deltas(index, ids[start:])
        if deltas is None or counts is None:
            return None
        counts = count_docs.applied(counts, deltas, FACET_TERMS_SIZE)
        if counts is None:
            return None
        self._latest[(index, entity_type)] = state['epoch'], tuple(ids), counts
        found = Kept({**state, **counts}, index, entity_type, version)
        self._kept_versions.put(_content_key(index, entity_type, state),  # type: ignore[arg-type]
                                found)
        if len(ids) >= count_docs.MAX_DELTAS:
            self._fold(index, entity_type, state, ids, counts)
        return found

    def _fold(self, index: str, entity_type: str, state: Counts, ids: Sequence[str],
              counts: Counts) -> None:
        """Write `counts`, of the state's epoch and `ids`, as a new epoch, best effort."""
        epoch = random.getrandbits(62)
        try:
            if any(s >= 300 for s in self._written(count_docs.base_docs(index, entity_type,
                                                                        epoch, counts))):
                return
            params = {'epoch': state['epoch'], 'folded': list(ids), 'next': epoch,
                      'size': count_docs.size(counts)}
            response = self._update(index, entity_type, count_docs.FOLD, params)
        except AzulError:
            log.warning('Folding the deltas of %s/%s failed', index, entity_type, exc_info=True)
            return
        if response is not None and response.get('result') == 'updated':
            self._kept_versions.put((index, entity_type, epoch), counts)  # type: ignore[arg-type]
            self._latest[(index, entity_type)] = epoch, (), counts
            self._drop(index, entity_type, epoch, ids)

    def _recount(self, counts_index: str, entity_type: str, version: tuple[int, int] | None,
                 previous: Counts, refresh: bool, spec: Sequence[str] | None = None
                 ) -> tuple[Kept | None, bool]:
        """
        Count the aggregates of the generation of `counts_index` anew, with the
        groupings of the `previous` state (or `spec`), and store the counts
        unless the state changed since `version`. The counts, usable by the
        caller (as current as a search), or None if unkept or not counted; whether
        they were stored (or there is nothing to count).
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
        recounter = uuid.uuid4().hex
        claim = {'valid': False, 'leases': {}, 'epoch': previous.get('epoch', 0),
                 'deltas': list(previous.get('deltas') or ()), 'spec': list(spec),
                 'refused': list(previous.get('refused') or ()),
                 'recount': [recounter, time.time() + RECOUNT_LEASE]}
        condition = {} if version is None else {'if_seq_no': version[0],
                                                'if_primary_term': version[1]}
        with translated(self.endpoint):
            try:
                claimed = self._writer.index(index=counts_index, id=entity_type, body=claim,
                                             refresh=False, **condition)
            except os_errors.ConflictError:
                # Another reader counts, or a writer registered
                return None, False
        body = kept.recount_body(numeric, FACET_TERMS_SIZE, spec)
        with translated(self.endpoint):
            if refresh:
                # Writes of a writer past its lease may not have been refreshed
                self._writer.indices.refresh(index=index)
            response = self._reader.search(index=index, body=body, request_cache=False)
        counts = kept.recounted(response, numeric, spec, previous.get('refused') or ())
        # Random: a recounter past its claim must not write into another's epoch
        epoch = random.getrandbits(62)
        state = count_docs.state_of(counts, epoch)
        stored = False
        try:
            if kept.usable(counts) and any(s >= 300 for s in self._written(
                    count_docs.base_docs(counts_index, entity_type, epoch, counts))):
                raise os_errors.TransportError(500, 'count documents not written')
            with translated(self.endpoint):
                done = self._writer.index(index=counts_index, id=entity_type, body=state,
                                          refresh=False, if_seq_no=claimed['_seq_no'],
                                          if_primary_term=claimed['_primary_term'])
            stored = True
        except (os_errors.ConflictError, os_errors.TransportError):
            log.info('Counts of %s changed while counting them; not stored', index)
            self._update(counts_index, entity_type, count_docs.END_RECOUNT, {'id': recounter})
        if stored:
            self._drop(counts_index, entity_type, epoch, claim['deltas'])
        full = {**counts, **state}
        result = Kept(full, counts_index, entity_type, _version(done) if stored else None)
        if stored and kept.usable(full):
            self._kept_versions.put(_content_key(counts_index, entity_type, state),  # type: ignore[arg-type]
                                    result)
            base = {key: counts[key] for key in ('total', 'terms', 'sums', 'grouped')}
            self._kept_versions.put((counts_index, entity_type, epoch), base)  # type: ignore[arg-type]
            self._latest[(counts_index, entity_type)] = epoch, (), base
        return result if kept.usable(full) else None, stored

    def _drop(self, counts_index: str, entity_type: str, epoch: int,
              deltas: Sequence[str]) -> None:
        """
        Delete the count documents of other epochs than `epoch` (earlier ones,
        and those of recounts and folds that failed), and the deltas given.
        Best effort: what is left only takes space.
        """
        query = {'bool': {'filter': [{'term': {'e': entity_type}}, {'exists': {'field': 'g'}}],
                          'must_not': [{'term': {'g': epoch}}]}}
        try:
            with translated(self.endpoint):
                self._writer.delete_by_query(index=counts_index, body={'query': query},
                                             conflicts='proceed', refresh=False)
            self._written([{'_op_type': 'delete', '_index': counts_index, '_id': i}
                           for i in deltas])
        except AzulError:
            log.warning('Count documents of %s left', counts_index, exc_info=True)

    def _states(self, catalog: str) -> list[Mapping[str, Any]]:
        """The hits of the state documents of a catalog's counts."""
        index = self._counts_index(catalog)
        body = {'size': 1000, '_source': False,
                'query': {'bool': {'must_not': [{'exists': {'field': 'e'}}]}}}
        with translated(self.endpoint):
            try:
                self._writer.indices.refresh(index=index)
                return self._reader.search(index=index, body=body)['hits']['hits']
            except os_errors.NotFoundError:
                return []

    def _mark_loading(self, catalog: str) -> list[str]:
        """Mark the counts of the catalog's indices written by `bulk_load`; their ids."""
        ids = [hit['_id'] for hit in self._states(catalog)]
        for entity_type in ids:
            self._update(self._counts_index(catalog), entity_type, count_docs.LOADING, {})
        return ids

    def _recount_loaded(self, catalog: str) -> None:
        """At the end of `bulk_load`: count every index anew, clearing all registrations."""
        for hit in self._states(catalog):
            for _ in range(CONFLICT_ATTEMPTS):
                doc = self._state(hit['_index'], hit['_id'])
                if doc is None:
                    break
                spec = list(doc['_source'].get('spec') or ())
                spec += [key for key in self._live_spec(catalog, hit['_id']) if key not in spec]
                if self._recount(hit['_index'], hit['_id'], _version(doc), doc['_source'],
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
                       exact: bool, also: Sequence[Mapping[str, Any]] = ()) -> None:
        """
        Settle after a bulk request: `done`, the results of the actions that
        succeeded; `old`, the counted parts of the documents replaced or deleted.
        """
        if not exact or self._written_elsewhere(registration, done):
            self._settle(registration, None, also)
            return
        if registration.epoch is None:
            # Counts not kept now are counted anew
            self._settle(registration, kept.Delta(0, {}, {}), also)
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
                    self._settle(registration, None, also)
                    return
                removed.append(old[entity_id])
            if action['_op_type'] != 'delete':
                added.append(action['_source'])
        self._settle(registration, kept.delta(removed, added, self._numeric(index),
                                              registration.spec), also)
