"""
The OpenSearch implementation of `SearchBackend`, for any OpenSearch 2.x or
Elasticsearch 7.10-compatible cluster (no point-in-time, no features newer
than ES 7.10 / OS 2.0).

Refresh policy: every write (contributions and aggregates) asks for an
immediate refresh of the shards it touched (`refresh=true`), because the
indexer reads the contributions of an entity right after writing them, and the
service and tests expect an aggregate in the next search. Measured on the
single test node (OpenSearch 2.19), per bulk request:

  refresh       20 contributions + read   10 aggregates
  true                 132 ms                 61 ms
  wait_for           1,025 ms              1,044 ms
  false                 33 ms                 27 ms   (every read was stale)

`wait_for` is kinder to a busy cluster (no tiny segments), but waits for the
next scheduled refresh (`refresh_interval`, 1 s), which would make indexing a
bundle at least a second slower. The policy is a constructor argument.

Inside `bulk_load` (a reindex) the catalog's indices have no scheduled
refresh (`refresh_interval: -1`) and aggregates and replicas are written
without one: nothing reads them by search until the end, when one refresh
makes them visible. Contributions still refresh, because the indexer searches
for them right after writing them. Bulk requests inside it are larger and two
are in flight at once (`LOAD_CHUNK_SIZE`, `LOAD_THREADS`). A load that
completes ends with a force merge of the aggregate indices into one segment
each (see `_merge`).

Pages and summaries, and the cache of their counts, are in `reads`.

Generations (see `azul.backends.base`): the stored indices of a reindexed
catalog are `<name>__<generation>`, and `<name>` is an alias of the live
one, which every reader and incremental writer addresses. While a reindex
builds a generation, each of its indices also has the alias `<name>__next`.
The switch is one `_aliases` request that points the plain aliases at the
new generation, drops its `__next` aliases and deletes every other index of
the catalog (`remove_index`): the old generation, leftovers of interrupted
reindexes, and indices made before generations existed, whose names the
aliases take over. Readers see the old catalog or the new one, never both.

Incremental writers (the service's indexer) keep working during a reindex.
They write to the live generation as always; contributions and replicas are
also written to the `__next` indices, the contributions marked `late`, so
the new generation misses none of them. Aggregates are not: the reindex
folds the entities of late contributions again from every stored
contribution, once before the switch and once right after it (a
notification aggregated into the old generation between the first re-fold
and the switch). What a reader may see: for the moment between the switch
and that second re-fold, an entity changed by a notification during the
reindex shows its aggregate as of the first re-fold.
"""
import contextlib
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import orjson
from opensearchpy import OpenSearch, helpers
from opensearchpy import exceptions as os_errors
from opensearchpy.serializer import JSONSerializer

from azul.backends.base import (
    GENERATION_SEPARATOR,
    AggregateWrite,
    Replica,
    SearchBackend,
    VersionedAggregate,
    index_name,
    replica_index_name,
    split_generation,
)
from azul.backends.opensearch import mapping
from azul.backends.opensearch import replicas as replica_docs
from azul.backends.opensearch.aws_auth import sigv4_auth
from azul.backends.opensearch.cache import ResultCache
from azul.backends.opensearch.errors import error_type, translated
from azul.backends.opensearch.keeping import COUNTS_LEASE, Keeping
from azul.backends.opensearch.queries import filter_query
from azul.backends.opensearch.reads import Reads
from azul.core.documents import Aggregate, Contribution, IndexedAggregate
from azul.core.fields import FieldRegistry, FieldType
from azul.core.filters import Filters
from azul.errors import AzulError
from azul.masking import mask_credentials

log = logging.getLogger(__name__)

Refresh = Literal[True, False, 'wait_for']

# Suffix of the alias of each index of a generation being built
NEXT = GENERATION_SEPARATOR + 'next'

# Documents per bulk request and per page of a read
CHUNK_SIZE = 500
PAGE_SIZE = 1000
# Bytes per bulk request at most
MAX_CHUNK_BYTES = 10 * 1024 * 1024
# Inside `bulk_load`: documents per bulk request, and bulk requests in flight
# at once, so that the node indexes one while the client serializes the next
# (and, on a node with cores to spare, indexes two at once)
LOAD_CHUNK_SIZE = 2000
LOAD_THREADS = 2
# Seconds a force merge at the end of `bulk_load` may take before the load
# goes on without waiting for it
MERGE_TIMEOUT = 3600


class _Serializer(JSONSerializer):
    """
    Responses parsed by orjson: a page with every facet is about 190 kB of
    JSON, which the standard library takes 3 ms to parse and orjson well under one.
    """

    def loads(self, s: str | bytes) -> Any:
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError:
            # NaN or an integer beyond 64 bits, which orjson refuses
            return super().loads(s)


class OpenSearchBackend(Keeping, Reads, SearchBackend):

    def __init__(self,
                 endpoint: str,
                 prefix: str,
                 deployment: str,
                 auth: str | None = None,
                 timeout: int = 30,
                 *,
                 shards: int = 1,
                 replicas: int = 0,
                 refresh: Refresh = True,
                 request_cache: bool | None = None,
                 kept_counts: bool = True,
                 counts_lease: float = COUNTS_LEASE,
                 facet_counts: bool | None = None,
                 sigv4_region: str | None = None):
        # For messages, health and logs: credentials in the URL are masked
        self.endpoint = mask_credentials(endpoint.rstrip('/'))
        self.prefix = prefix
        self.deployment = deployment
        self.shards = shards
        self.replicas = replicas
        self.refresh = refresh
        # For the counts of a page and summaries; None: the index's setting
        # (on by default). False for benchmarks that repeat one request: also
        # turns off this object's cache of counts (see `cache`).
        self.request_cache = request_cache
        self._results = ResultCache()
        # Unfiltered counts kept by writers, see `keeping`; False: searched, as before
        self.kept_counts = kept_counts
        self.counts_lease = counts_lease
        # Whether the nodes have Azul's aggregation `azul_facet_counts` (see
        # `reads`); None: asked once, at the first page that would use it
        self.facet_counts = facet_counts
        options: dict[str, Any] = dict(hosts=[endpoint.rstrip('/')], timeout=timeout,
                                       serializer=_Serializer())
        if auth is not None:
            user, _, password = auth.partition(':')
            options['http_auth'] = (user, password)
        elif sigv4_region is not None:
            options['http_auth'] = sigv4_auth(sigv4_region)
        # Reads are idempotent, so the client may retry them on another
        # connection after a failed connection or a 502/503/504; not after a
        # timeout: a hung node would then hold a request (and its client) for
        # three timeouts before the 503, when one says as much.
        self._reader = OpenSearch(**options, max_retries=2, retry_on_timeout=False)
        # Why no retries for writes: a request that timed out may still have
        # been applied. A transparent retry of a conditional write would then
        # fail its own version check, or, worse, a retry of an unconditional
        # one would blindly overwrite whatever another indexer wrote
        # meanwhile. Without retries the timeout surfaces as
        # ServiceUnavailableError, the queue re-delivers the message, and the
        # re-run re-reads the aggregate and sees the new version: a conflict
        # on re-read rather than a lost update. `retry_on_conflict` (an update
        # API option) is never used for the same reason.
        self._writer = OpenSearch(**options, max_retries=0, retry_on_timeout=False,
                                  retry_on_status=())
        # Indices known to exist, see `_require`
        self._existing: set[str] = set()
        # Aggregate index -> its facets, see `_facets`
        self._facets_of: dict[str, dict[str, FieldType]] = {}
        self._init_keeping()
        # Catalog -> how many `bulk_load` blocks are open for it
        self._bulk_loading: Counter[str] = Counter()
        # Catalog -> the generation this object builds for it, see `begin_generation`
        self._building: dict[str, str] = {}

    # Indices

    def _index(self, catalog: str, entity_type: str, aggregate: bool) -> str:
        return index_name(self.prefix, self.deployment, catalog, entity_type, aggregate,
                          self._building.get(catalog, ''))

    def create_indices(self, catalog: str, entity_types: Sequence[str],
                       registry: FieldRegistry) -> None:
        settings = mapping.index_settings(self.shards, self.replicas)
        if self._bulk_loading[catalog]:
            # Recreated inside `bulk_load`: refreshed, and reset, at its end
            settings['index']['refresh_interval'] = '-1'
        for entity_type in entity_types:
            for aggregate, mappings in ((True, mapping.aggregate_mappings(registry)),
                                        (False, mapping.contribution_mappings())):
                self._create_index(self._index(catalog, entity_type, aggregate),
                                   settings, mappings)
        self._create_index(self._replica_index(catalog), settings, replica_docs.mappings())
        self._create_counts(catalog, entity_types, bool(self._bulk_loading[catalog]), settings)
        if catalog not in self._building:
            # A generation being built changes no content until the switch
            self._touch(catalog)

    def _create_index(self, index: str, settings: Mapping[str, Any],
                      mappings: Mapping[str, Any]) -> None:
        """Create the index unless it exists (as an index or as an alias)."""
        body: dict[str, Any] = {'settings': settings, 'mappings': mappings}
        plain, generation = split_generation(index)
        if generation:
            body['aliases'] = {plain + NEXT: {}}
        with translated(self.endpoint):
            if self._reader.indices.exists(index=index):
                return
            try:
                self._writer.indices.create(index=index, body=body)
            except os_errors.RequestError as e:
                # Another process created it between our check and ours
                if error_type(e) != 'resource_already_exists_exception':
                    raise

    def _require(self, index: str) -> str:
        """
        Fail unless the index exists: a write to a missing index would make
        OpenSearch create it with dynamic mappings, which `create_indices`
        would then leave alone.
        """
        if index not in self._existing:
            with translated(self.endpoint):
                if not self._reader.indices.exists(index=index):
                    raise AzulError(f'Index {index!r} does not exist at {self.endpoint}; '
                                    f'create the indices of its catalog first')
            self._existing.add(index)
        return index

    def _facets(self, index: str) -> dict[str, FieldType]:
        """The facets of an aggregate index (the fields of `facet_terms`), from its mapping."""
        if index not in self._facets_of:
            self._require(index)
            with translated(self.endpoint):
                # Keyed by the stored index, which an alias names differently
                [response] = self._reader.indices.get_mapping(index=index).values()
            mappings = response['mappings']
            facets = mappings.get('_meta', {}).get('facets')
            if facets is None:
                raise AzulError(f'Index {index!r} at {self.endpoint} predates facet terms; '
                                f'reindex its catalog')
            self._facets_of[index] = {name: FieldType(t) for name, t in facets.items()}
        return self._facets_of[index]

    def _delete_matching(self, pattern: str) -> None:
        with translated(self.endpoint):
            # Resolve the pattern first: clusters with
            # `action.destructive_requires_name` refuse wildcard deletes.
            indices = sorted(self._reader.indices.get(index=pattern,
                                                      allow_no_indices=True,
                                                      ignore_unavailable=True))
        self._delete_indices(indices)

    def _delete_indices(self, indices: Sequence[str]) -> None:
        self._existing.clear()
        self._facets_of.clear()
        self._numeric_of.clear()
        with translated(self.endpoint):
            for i in range(0, len(indices), 50):
                self._writer.indices.delete(index=','.join(indices[i:i + 50]),
                                            ignore_unavailable=True)

    def _catalog_pattern(self, catalog: str) -> str:
        """Every index of the catalog, of every generation, and their aliases."""
        return f'{self.prefix}_{self.deployment}_{catalog}_*'

    def _pattern(self, catalog: str) -> str:
        """The indices of the catalog this object reads and writes."""
        generation = self._building.get(catalog)
        pattern = self._catalog_pattern(catalog)
        return pattern if generation is None else f'{pattern}{GENERATION_SEPARATOR}{generation}'

    def delete_indices(self, catalog: str) -> None:
        self._building.pop(catalog, None)
        self._delete_matching(self._catalog_pattern(catalog))
        with translated(self.endpoint):
            try:
                self._writer.delete(index=self._content_index, id=catalog, refresh=False)
            except os_errors.NotFoundError:
                pass

    # Generations

    def _aliases(self, catalog: str) -> dict[str, set[str]]:
        """Every stored index of the catalog and its aliases."""
        with translated(self.endpoint):
            response = self._reader.indices.get_alias(index=self._catalog_pattern(catalog),
                                                      allow_no_indices=True,
                                                      ignore_unavailable=True)
        return {index: set(entry.get('aliases', {})) for index, entry in response.items()}

    def generations(self, catalog: str) -> list[str]:
        return sorted({split_generation(index)[1] for index in self._aliases(catalog)})

    def _drop_leftovers(self, catalog: str) -> None:
        # A generation without its plain alias is not live: an interrupted
        # reindex's. Indices without a generation are live (made before
        # generations, or by `create_indices` alone).
        leftovers = [index for index, aliases in self._aliases(catalog).items()
                     if split_generation(index)[1]
                     and split_generation(index)[0] not in aliases]
        if leftovers:
            log.info('Deleting %i indices of an unfinished reindex of catalog %r',
                     len(leftovers), catalog)
            self._delete_indices(leftovers)

    def switch_generation(self, catalog: str) -> None:
        # Still this object's to abandon if the switch fails
        generation = self._building[catalog]
        actions = []
        for index in self._aliases(catalog):
            plain, index_generation = split_generation(index)
            if index_generation == generation:
                actions += [{'add': {'index': index, 'alias': plain}},
                            {'remove': {'index': index, 'alias': plain + NEXT}}]
            else:
                # The aliases of a deleted index go with it
                actions.append({'remove_index': {'index': index}})
        self._existing.clear()
        self._facets_of.clear()
        self._numeric_of.clear()
        with translated(self.endpoint):
            self._writer.indices.update_aliases(body={'actions': actions})
        del self._building[catalog]
        self._touch(catalog)
        log.info('Catalog %r now reads generation %s', catalog, generation)

    def abandon_generation(self, catalog: str) -> None:
        generation = self._building.pop(catalog, None)
        if generation is not None:
            pattern = f'{self._catalog_pattern(catalog)}{GENERATION_SEPARATOR}{generation}'
            self._delete_matching(pattern)

    def _next_indices(self, catalog: str) -> dict[str, str]:
        """Plain name -> `__next` alias of each index of a generation being built."""
        with translated(self.endpoint):
            try:
                response = self._reader.indices.get_alias(index=self._catalog_pattern(catalog),
                                                          name='*' + NEXT,
                                                          allow_no_indices=True,
                                                          ignore_unavailable=True)
            except os_errors.NotFoundError:
                return {}
        return {alias.removesuffix(NEXT): alias
                for entry in response.values()
                for alias in entry.get('aliases', {})}

    def late_entities(self, catalog: str) -> Mapping[str, list[str]]:
        pattern = index_name(self.prefix, self.deployment, catalog, '*', False,
                             self._building.get(catalog, ''))
        query = {'term': {mapping.LATE: True}}
        late: dict[str, set[str]] = defaultdict(set)
        with translated(self.endpoint):
            # Written with a refresh by the incremental writer, but perhaps
            # after the refresh that ended the reindex's `bulk_load`
            self._writer.indices.refresh(index=pattern, allow_no_indices=True,
                                         ignore_unavailable=True)
        for source in self._paged(pattern, query, 'contribution_id',
                                  source=['entity_type', mapping.ENTITY_ID], missing_ok=True):
            late[source['entity_type']].add(source[mapping.ENTITY_ID])
        return {entity_type: sorted(ids) for entity_type, ids in late.items()}

    def drop_deployment(self) -> None:
        self._building.clear()
        self._delete_matching(f'{self.prefix}_{self.deployment}_*')

    def count(self, catalog: str, entity_type: str, aggregate: bool = True) -> int:
        index = self._index(catalog, entity_type, aggregate)
        with translated(self.endpoint):
            try:
                return self._reader.count(index=index)['count']
            except os_errors.NotFoundError:
                return 0

    # Writes

    @contextmanager
    def bulk_load(self, catalog: str) -> Iterator[None]:
        pattern = self._pattern(catalog)
        previous = self._refresh_intervals(pattern)
        self._set_refresh_interval(list(previous), '-1')
        if not self._bulk_loading[catalog]:
            self._mark_loading(catalog)
        self._bulk_loading[catalog] += 1
        completed = False
        try:
            yield
            completed = True
        finally:
            self._bulk_loading[catalog] -= 1
            # Indices recreated inside the block (by a reindex) get the default
            by_value = defaultdict(list)
            for index, (uuid_, _) in self._refresh_intervals(pattern).items():
                old_uuid, value = previous.get(index, (None, None))
                by_value[value if old_uuid == uuid_ else None].append(index)
            for value, indices in by_value.items():
                self._set_refresh_interval(indices, value)
            with translated(self.endpoint):
                self._writer.indices.refresh(index=pattern, allow_no_indices=True,
                                             ignore_unavailable=True)
            if completed and not self._bulk_loading[catalog]:
                self._merge(catalog)
            if not self._bulk_loading[catalog]:
                self._recount_loaded(catalog)
            if catalog not in self._building:
                # The writes inside were stamped as not yet visible
                self._touch(catalog)

    def _merge(self, catalog: str) -> None:
        """
        Merge each aggregate index into one segment at the end of a load.
        Every page and summary reads the doc values of every document: a
        `terms` aggregation over several segments maps each segment's
        ordinals to global ones, and each segment costs its own setup.
        """
        pattern = index_name(self.prefix, self.deployment, catalog, '*', True,
                             self._building.get(catalog, ''))
        with translated(self.endpoint):
            try:
                self._writer.indices.forcemerge(index=pattern, max_num_segments=1,
                                                allow_no_indices=True, ignore_unavailable=True,
                                                request_timeout=MERGE_TIMEOUT)
            except os_errors.ConnectionTimeout:
                # The node goes on merging; searches are correct meanwhile
                log.warning('Merging the aggregates of catalog %r took longer than %i s',
                            catalog, MERGE_TIMEOUT)
                return
            # The merged segment replaces the others for searches
            self._writer.indices.refresh(index=pattern, allow_no_indices=True,
                                         ignore_unavailable=True)

    def _refresh_intervals(self, pattern: str) -> dict[str, tuple[str, str | None]]:
        """The uuid and explicit `refresh_interval` (None: the default) of each index."""
        with translated(self.endpoint):
            # Not filtered by name, which would leave out indices without the setting
            settings = self._reader.indices.get_settings(index=pattern, allow_no_indices=True,
                                                         ignore_unavailable=True)
        return {index: (s['settings']['index']['uuid'],
                        s['settings']['index'].get('refresh_interval'))
                for index, s in settings.items()}

    def _set_refresh_interval(self, indices: Sequence[str], value: str | None) -> None:
        # None (JSON null) resets the setting to its default
        for i in range(0, len(indices), 50):
            with translated(self.endpoint):
                self._writer.indices.put_settings(index=','.join(indices[i:i + 50]),
                                                  body={'index': {'refresh_interval': value}})

    def _bulk(self, actions: Iterable[dict[str, Any]],
              catalog: str | None = None) -> Iterator[tuple[str, int, Any]]:
        """
        (document id, status, item) of every action, errors included, so that
        callers decide which statuses are conflicts and which are failures.
        Writes to a catalog (if given) that is being bulk loaded skip the refresh.
        """
        loading = catalog is not None and self._bulk_loading[catalog]
        with translated(self.endpoint):
            if loading:
                # Results come back in the order of the actions (`imap`), and
                # nothing is retried, as in the sequential case
                results = helpers.parallel_bulk(self._writer, actions,
                                                thread_count=LOAD_THREADS,
                                                queue_size=LOAD_THREADS,
                                                chunk_size=LOAD_CHUNK_SIZE,
                                                max_chunk_bytes=MAX_CHUNK_BYTES,
                                                raise_on_error=False,
                                                raise_on_exception=True,
                                                refresh=False)
            else:
                results = helpers.streaming_bulk(self._writer, actions,
                                                 chunk_size=CHUNK_SIZE,
                                                 max_chunk_bytes=MAX_CHUNK_BYTES,
                                                 raise_on_error=False,
                                                 raise_on_exception=True,
                                                 max_retries=0,
                                                 refresh=self.refresh)
            for _ok, item in results:
                [(_, result)] = item.items()
                yield result['_id'], result['status'], result

    def _bulk_failure(self, result: Mapping[str, Any]) -> AzulError:
        error = result.get('error')
        if isinstance(error, dict):
            error = f"{error.get('type')}: {error.get('reason')}"
        return AzulError(f'OpenSearch at {self.endpoint} failed to write document '
                         f"{result.get('_id')!r} to {result.get('_index')!r} "
                         f"({result.get('status')}): {error}")

    def write_contributions(self, catalog: str, contributions: Iterable[Contribution]) -> int:
        if catalog in self._building:
            return self._write_contributions(catalog, contributions, refresh=True)
        contributions = list(contributions)
        written = self._write_contributions(catalog, contributions, refresh=True)
        if next_indices := self._next_indices(catalog):
            self._write_late_contributions(catalog, contributions, next_indices)
        return written

    def _write_late_contributions(self, catalog: str, contributions: Sequence[Contribution],
                                  next_indices: Mapping[str, str]) -> None:
        """The contributions also into the generation a reindex is building, marked late."""
        actions = []
        for c in contributions:
            alias = next_indices.get(index_name(self.prefix, self.deployment, catalog,
                                                c.entity_type, False))
            if alias is not None:
                actions.append({'_op_type': 'index', '_index': alias, '_id': c.id,
                                '_source': {**mapping.contribution_source(c),
                                            mapping.LATE: True}})
        self._write_next(actions)

    def _write_next(self, actions: list[dict[str, Any]]) -> None:
        # To the alias, which must exist: an index of that name written to
        # after the reindex switched (or gave up) would be created anew,
        # with dynamic mappings
        with translated(self.endpoint):
            results = helpers.streaming_bulk(self._writer, actions, chunk_size=CHUNK_SIZE,
                                             max_chunk_bytes=MAX_CHUNK_BYTES,
                                             raise_on_error=False, raise_on_exception=True,
                                             max_retries=0, refresh=True, require_alias=True)
            for _ok, item in results:
                [(_, result)] = item.items()
                if result['status'] >= 300 and error_type_of(result) not in (
                    'index_not_found_exception', 'aliases_not_found_exception'
                ):
                    raise self._bulk_failure(result)

    def load_contributions(self, catalog: str, contributions: Sequence[Contribution]) -> int:
        # Inside `bulk_load` nothing searches them (but see `load_aggregates`),
        # so they skip the refresh of every bulk request
        return self._write_contributions(catalog, contributions, refresh=False)

    def load_aggregates(self, catalog: str, entity_type: str,
                        documents: Sequence[IndexedAggregate]) -> list[str]:
        taken = super().load_aggregates(catalog, entity_type, documents)
        if taken:
            # The caller folds these again from the stored contributions,
            # which it finds by search: those loaded without a refresh too
            with translated(self.endpoint):
                self._writer.indices.refresh(index=self._pattern(catalog),
                                             allow_no_indices=True, ignore_unavailable=True)
        return taken

    def _write_contributions(self, catalog: str, contributions: Iterable[Contribution],
                             refresh: bool) -> int:
        actions = (
            {
                '_op_type': 'index',
                '_index': self._require(self._index(catalog, c.entity_type, aggregate=False)),
                '_id': c.id,
                '_source': mapping.contribution_source(c),
            }
            for c in contributions
        )
        written = 0
        for _, status, result in self._bulk(actions, None if refresh else catalog):
            if status >= 300:
                raise self._bulk_failure(result)
            written += 1
        return written

    def write_aggregates(self, catalog: str, entity_type: str,
                         writes: Sequence[AggregateWrite]) -> list[str]:
        if not writes:
            return []
        index = self._index(catalog, entity_type, aggregate=True)
        facets = self._facets(index)
        # Deleting an aggregate that must not exist is a no-op if it indeed
        # does not, and a conflict if it does; no bulk action can say that.
        blind_deletes = [w.entity_id for w in writes if w.document is None and w.expected is None]
        existing = self.read_aggregates(catalog, entity_type, blind_deletes)
        conflicts = {eid for eid in blind_deletes if eid in existing}
        actions = []
        for w in writes:
            if w.document is None and w.expected is None:
                continue
            action: dict[str, Any] = {'_index': index, '_id': w.entity_id}
            if w.expected is not None:
                seq_no, primary_term = w.expected
                action.update(if_seq_no=seq_no, if_primary_term=primary_term)
            if w.document is None:
                action['_op_type'] = 'delete'
            else:
                assert w.document.entity_id == w.entity_id, w
                action['_op_type'] = 'index' if w.expected is not None else 'create'
                action['_source'] = mapping.aggregate_source(w.document, facets)
            actions.append(action)
        failure, done = None, []
        # A reindex's writes are counted at the end of its `bulk_load`
        registration = None if self._bulk_loading[catalog] or not actions else (
            self._register(catalog, entity_type))
        try:
            old = {} if registration is None or registration.epoch is None else (
                self._old_sources(index, {a['_id']: (a['if_seq_no'], a['if_primary_term'])
                                          for a in actions if 'if_seq_no' in a}))
            for entity_id, status, result in self._bulk(actions, catalog):
                if status == 409:
                    conflicts.add(entity_id)
                elif status == 404 and 'error' not in result:
                    # A conditional delete of a document someone else deleted
                    conflicts.add(entity_id)
                elif status >= 300:
                    failure = self._bulk_failure(result)
                    break
                else:
                    done.append(result)
        except BaseException:
            if registration is not None:
                # Best effort: else its lease runs out
                with contextlib.suppress(Exception):
                    self._settle(registration, None)
            raise
        # Also after a document failed: others may have been written. (Not
        # after a failed request: the cluster is unreachable, and the queue
        # delivers the notification again.) A generation being built is new
        # content only once switched to.
        touch = None if catalog in self._building else self._touch_action(
            catalog, visible=self.refresh is not False and not self._bulk_loading[catalog])
        if registration is not None:
            # Not after a failure, which leaves the rest of its bulk request unread,
            # nor without a refresh, which leaves the writes not yet counted by searches.
            # The new content version in the same request
            self._settle_writes(registration, index, actions, done, old,
                                exact=failure is None and self.refresh is not False,
                                also=() if touch is None else (touch,))
        elif touch is not None:
            self._touch(catalog, visible='cacheable' not in touch['_source'])
        if failure is not None:
            raise failure
        return [w.entity_id for w in writes if w.entity_id in conflicts]

    # Replicas

    def _replica_index(self, catalog: str) -> str:
        return replica_index_name(self.prefix, self.deployment, catalog,
                                  self._building.get(catalog, ''))

    def write_replicas(self, catalog: str, replicas: Iterable[Replica]) -> int:
        index = self._require(self._replica_index(catalog))
        replicas = list(replicas)
        actions = replica_docs.actions(index, replicas)
        for _, status, result in self._bulk(actions, catalog):
            if status >= 300:
                raise self._bulk_failure(result)
        if catalog not in self._building:
            next_indices = self._next_indices(catalog)
            alias = next_indices.get(replica_index_name(self.prefix, self.deployment, catalog))
            if alias is not None:
                self._write_next(replica_docs.actions(alias, replicas))
        return len(actions)

    def scan_replicas(self, catalog: str, hub_ids: Sequence[str],
                      entity_ids: Sequence[str] = (), *,
                      include_hub_ids: bool = False) -> Iterator[Replica]:
        if not (hub_ids or entity_ids):
            return
        index = self._replica_index(catalog)

        def search(body: dict[str, Any]) -> list[dict[str, Any]]:
            with translated(self.endpoint):
                try:
                    return self._reader.search(index=index, body=body)['hits']['hits']
                except os_errors.NotFoundError:
                    return []

        yield from replica_docs.scan(search, hub_ids, entity_ids, PAGE_SIZE, include_hub_ids)

    # Reads

    def read_contributions(self, catalog: str, entity_type: str,
                           entity_ids: Sequence[str]) -> Mapping[str, list[Contribution]]:
        index = self._index(catalog, entity_type, aggregate=False)
        result: dict[str, list[Contribution]] = defaultdict(list)
        ids = list(dict.fromkeys(entity_ids))
        for i in range(0, len(ids), PAGE_SIZE):
            query = {'terms': {mapping.ENTITY_ID: ids[i:i + PAGE_SIZE]}}
            for source in self._paged(index, query, 'contribution_id', missing_ok=True):
                del source['contribution_id']
                source.pop(mapping.LATE, None)
                contribution = Contribution.from_json(source)
                result[contribution.entity_id].append(contribution)
        return dict(result)

    def _paged(self, index: str, query: Mapping[str, Any], key: str,
               source: Any = True, missing_ok: bool = False) -> Iterator[dict[str, Any]]:
        """Every match, in `key` order, by `search_after` (no point in time in ES 7.10)."""
        after = None
        while True:
            body: dict[str, Any] = {
                'size': PAGE_SIZE,
                'query': query,
                'sort': [{key: 'asc'}],
                '_source': source,
                'track_total_hits': False,
            }
            if after is not None:
                body['search_after'] = after
            with translated(self.endpoint):
                try:
                    hits = self._reader.search(index=index, body=body)['hits']['hits']
                except os_errors.NotFoundError:
                    if missing_ok:
                        return
                    raise
            for hit in hits:
                yield hit['_source']
            if len(hits) < PAGE_SIZE:
                return
            after = hits[-1]['sort']

    def read_aggregates(self, catalog: str, entity_type: str,
                        entity_ids: Sequence[str]) -> Mapping[str, VersionedAggregate]:
        index = self._index(catalog, entity_type, aggregate=True)
        result = {}
        ids = list(dict.fromkeys(entity_ids))
        for i in range(0, len(ids), PAGE_SIZE):
            with translated(self.endpoint):
                try:
                    # Multi-get is real-time: it sees writes before a refresh
                    response = self._reader.mget(index=index,
                                                 body={'ids': ids[i:i + PAGE_SIZE]},
                                                 _source_includes='document')
                except os_errors.NotFoundError:
                    return {}
            for doc in response['docs']:
                if doc.get('found'):
                    aggregate = Aggregate.from_json(entity_type, doc['_source']['document'])
                    version = (doc['_seq_no'], doc['_primary_term'])
                    result[doc['_id']] = VersionedAggregate(aggregate, version)
                elif 'error' in doc:
                    if error_type_of(doc) == 'index_not_found_exception':
                        return {}
                    raise AzulError(f'OpenSearch at {self.endpoint} failed to read '
                                    f"{doc['_id']!r}: {doc['error']}")
        return result

    def get_aggregate(self, catalog: str, entity_type: str, entity_id: str
                      ) -> Mapping[str, Any] | None:
        index = self._index(catalog, entity_type, aggregate=True)
        with translated(self.endpoint):
            try:
                doc = self._reader.get(index=index, id=entity_id, _source_includes='document')
            except os_errors.NotFoundError:
                return None
        return doc['_source']['document']

    def scan(self, catalog: str, entity_type: str, filters: Filters,
             include: Sequence[str] | None = None) -> Iterator[Mapping[str, Any]]:
        index = self._index(catalog, entity_type, aggregate=True)
        # Source filtering: a manifest reads a fraction of each document (a
        # third less time for the compact manifest of 100,000 files)
        source = ['document'] if include is None else [f'document.{p}' for p in include]
        for hit in self._paged(index, filter_query(filters), mapping.ENTITY_ID,
                               source=source, missing_ok=True):
            yield hit.get('document', {})

    def health(self) -> Mapping[str, Any]:
        # The writer does not retry, so an unreachable cluster is reported quickly
        with translated(self.endpoint):
            health = self._writer.cluster.health()
        return {
            'up': True,
            'endpoint': self.endpoint,
            'cluster_name': health.get('cluster_name'),
            'status': health.get('status'),
        }

    def close(self) -> None:
        for client in (self._reader, self._writer):
            client.close()


def error_type_of(doc: Mapping[str, Any]) -> str | None:
    error = doc.get('error')
    return error.get('type') if isinstance(error, dict) else None
