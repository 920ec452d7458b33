"""
The counting reads of the OpenSearch backend (pages and summaries) and the
content versions their cache is keyed by (see `cache`). A mixin of
`OpenSearchBackend`, which provides the clients, the index names and the
creation of indices.
"""
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_errors

from azul.backends.opensearch import kept, mapping
from azul.backends.opensearch.cache import Key, ResultCache, cache_key
from azul.backends.opensearch.errors import translated
from azul.backends.opensearch.queries import (
    FACET_COUNTS,
    counts_bodies,
    facet_counts_agg,
    page_body,
    search_result,
)
from azul.backends.opensearch.summary import (
    SUMMARY,
    merged,
    part_of,
    split_body,
    summary_agg_bodies,
    summary_agg_response,
    summary_body,
    summary_result,
)
from azul.core.search import (
    SearchRequest,
    SearchResult,
    SummaryRequest,
    SummaryResult,
    reference_search,
    reference_summary,
)


class Reads:
    # Provided by the backend
    endpoint: str
    prefix: str
    deployment: str
    replicas: int
    request_cache: bool | None
    _reader: OpenSearch
    _writer: OpenSearch
    _existing: set[str]
    _building: dict[str, str]
    _results: ResultCache
    # And `_index`, `_create_index`, `_facets`, `_numeric`, `_kept` and `_recount`

    # Content versions: one small document per catalog in an index of the
    # deployment (not of a catalog, so that no catalog's pattern matches it),
    # read by id, which is real-time without a refresh

    @property
    def _content_index(self) -> str:
        return f'{self.prefix}_{self.deployment}__content'

    def _touch(self, catalog: str, visible: bool = True) -> None:
        """
        A new content version of the catalog. `visible`: whether every change
        so far can be seen by searches; else counts are not cached until a
        stamp says so (see `cache`).
        """
        action = self._touch_action(catalog, visible)
        with translated(self.endpoint):
            self._writer.index(index=action['_index'], id=catalog, body=action['_source'],
                               refresh=False)

    def _touch_action(self, catalog: str, visible: bool = True) -> dict[str, Any]:
        """`_touch` as a bulk action, for a request that writes more."""
        index = self._content_index
        if index not in self._existing:
            self._create_index(index, mapping.index_settings(1, self.replicas),
                               {'dynamic': False, 'properties': {}})
            self._existing.add(index)
        body: dict[str, Any] = {'stamp': uuid.uuid4().hex}
        if not visible:
            body['cacheable'] = False
        return {'_op_type': 'index', '_index': index, '_id': catalog, '_source': body}

    def _stamp(self, catalog: str) -> Mapping[str, Any] | None:
        with translated(self.endpoint):
            try:
                return self._reader.get(index=self._content_index, id=catalog)['_source']
            except os_errors.NotFoundError:
                return None

    def content_version(self, catalog: str) -> str:
        stamp = self._stamp(catalog)
        return 'none' if stamp is None else stamp['stamp']

    def _cache_key(self, catalog: str, index: str, body: Mapping[str, Any]) -> Key | None:
        """The key of a counting search's response, None if it must not be cached."""
        if self.request_cache is False or catalog in self._building:
            # A generation being built gets its version only when switched to
            return None
        stamp = self._stamp(catalog)
        if stamp is None or stamp.get('cacheable') is False:
            return None
        return cache_key(index, stamp['stamp'], body)

    # Searches

    def search(self, catalog: str, request: SearchRequest) -> SearchResult:
        index = self._index(catalog, request.entity_type, aggregate=True)
        with translated(self.endpoint):
            page = page_body(request)
            # Unfiltered, the counts are kept, or every document is counted,
            # which the `terms` walk does as fast
            counts = counts_bodies(request, bool(request.filters.all_terms())
                                   and self._has_facet_counts(index))
            try:
                kept_counts = None if request.filters.all_terms() else self._kept(
                    catalog, request.entity_type)
                if kept_counts is not None:
                    [page_response] = self._msearch(index, [page])
                    built = kept_counts.built
                    if 'page' not in built:
                        # Unfiltered: the one counting search's response
                        built['page'] = [kept.counts_response(kept_counts.counts)]
                    return search_result(request, page_response, built['page'])
                key = self._cache_key(catalog, index, {'counts': counts})
                cached = self._results.get(key)
                if cached is None:
                    own = self._own_counts(catalog, request)
                    searched = counts if own is None else counts[:1]
                    page_response, *responses = self._msearch(index, [page, *searched])
                    if own is not None:
                        responses.append(own)
                    cached = {'responses': responses}
                    self._results.put(key, cached)
                else:
                    [page_response] = self._msearch(index, [page])
            except os_errors.NotFoundError:
                # No index yet: the answer for no documents
                return reference_search([], request)
        return search_result(request, page_response, cached['responses'])

    def _has_facet_counts(self, index: str) -> bool:
        """
        Whether the nodes have Azul's aggregations (see `queries.FACET_COUNTS`
        and `summary.SUMMARY`), built together: asked once.
        """
        known = self.facet_counts
        if known is None:
            body = {'size': 0, 'track_total_hits': False, 'query': {'match_none': {}},
                    'aggs': {'probe': facet_counts_agg(), 'probe_summary': {
                        SUMMARY: {'parts': {'n': {'cardinality': mapping.NULLS}}}}}}
            try:
                self._reader.search(index=index, body=body)
            except os_errors.NotFoundError:
                # No index yet: ask again later
                return False
            except os_errors.RequestError as e:
                if FACET_COUNTS not in str(e.info) and SUMMARY not in str(e.info):
                    raise
                known = False
            else:
                known = True
            self.facet_counts = known
        return known

    def _own_counts(self, catalog: str, request: SearchRequest) -> dict[str, Any] | None:
        """
        The response to the counting search of the facet whose filter is the
        request's only one, from the kept counts: that facet is counted over
        all documents, a search of the whole index (at 1M documents, the
        page's costliest). None if there is no such facet or no kept counts.
        """
        filters = request.filters
        names = set(filters.fields())
        if filters.scope or len(names) != 1:
            return None
        [name] = names
        if name not in (facet.name for facet in request.facets):
            return None
        found = self._kept(catalog, request.entity_type)
        return None if found is None else kept.facet_response(found.counts, name)

    def _msearch(self, index: str, bodies: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """
        The responses to several searches of one index, in one request (run
        in parallel). A search that failed raises the exception its own
        request would have.
        """
        header: dict[str, Any] = {'index': index}
        if self.request_cache is not None:
            header['request_cache'] = self.request_cache
        lines: list[Mapping[str, Any]] = []
        for body in bodies:
            lines += [header, body]
        responses = self._reader.msearch(body=lines)['responses']
        for response in responses:
            if 'error' in response:
                error, status = response['error'], response.get('status', 'N/A')
                kind = error.get('type') if isinstance(error, dict) else error
                raise os_errors.HTTP_EXCEPTIONS.get(status, os_errors.TransportError)(
                    status, kind, response)
        return responses

    def _kept_summary(self, index: str, body: Mapping[str, Any], request: SummaryRequest,
                      found: Any) -> dict[str, Any]:
        """
        A response to `body` (unfiltered) from the kept counts, and from a
        search of only the aggregations they do not answer. Groupings asked
        for the first time are counted for keeping, with everything else.
        """
        facets, counts = self._facets(index), found.counts
        missing = [key for key in kept.wanted(request, facets, self._numeric(index))
                   if key not in (counts.get('spec') or ())
                   and key not in (counts.get('refused') or ())]
        if missing and found.version is not None:
            spec = list(counts.get('spec') or ()) + missing
            recounted, _ = self._recount(found.counts_index, found.entity_type, found.version,
                                         counts, refresh=False, spec=spec)
            if recounted is not None:
                counts = recounted.counts
        if counts is found.counts:
            if request not in found.built:
                found.built[request] = kept.summary_aggregations(request, counts, facets)
            answered = found.built[request]
        else:
            answered = kept.summary_aggregations(request, counts, facets)
        rest = {name: agg for name, agg in body['aggs'].items()
                if name not in answered and part_of(name) not in answered}
        aggs = dict(answered)
        if rest:
            response = self._summary_search(index, request, {**body, 'aggs': rest,
                                                             'track_total_hits': False})
            aggs.update(response['aggregations'])
        return {'hits': {'total': {'value': counts['total']}}, 'aggregations': aggs}

    def _summary_search(self, index: str, request: SummaryRequest,
                        body: Mapping[str, Any]) -> dict[str, Any]:
        """
        The response to `body`, a summary's aggregations or some of them: from
        Azul's `azul_summary` where the nodes have it, else from the
        aggregations themselves; either in a few searches run in parallel.
        """
        if self._has_facet_counts(index):
            bodies = summary_agg_bodies(request, names=list(body['aggs']),
                                        total=body.get('track_total_hits', False))
            return summary_agg_response(self._msearch(index, bodies) if bodies else [])
        return merged(self._msearch(index, split_body(body)))

    def summary(self, catalog: str, request: SummaryRequest) -> SummaryResult:
        index = self._index(catalog, request.entity_type, aggregate=True)
        body = summary_body(request)
        with translated(self.endpoint):
            try:
                kept_counts = None if request.filters.all_terms() else self._kept(
                    catalog, request.entity_type)
                if kept_counts is not None:
                    return summary_result(request, self._kept_summary(index, body, request,
                                                                      kept_counts))
                key = self._cache_key(catalog, index, body)
                response = self._results.get(key)
                if response is None:
                    response = self._summary_search(index, request, body)
                    self._results.put(key, response)
            except os_errors.NotFoundError:
                return reference_summary([], request)
        return summary_result(request, response)
