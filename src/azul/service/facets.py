"""
`termFacets` of /index/{entity_type}: per facet of the catalog, every term with
the number of entities having it, counted under every filter but the facet's
own (so that selecting a term does not hide its siblings). Terms are listed by
count, then term, with the null term last among equals, exactly as
`azul.core.search.order_terms` defines.

Some facets carry a companion per term, e.g. the `project` facet's terms list
the ids of the projects with that short name (`projectId`). Those come from a
summary request per such facet, grouped by the facet's field, with the
companion field's distinct values.
"""
from collections.abc import Mapping
from typing import Any

from azul.auth.reify import Access, accessible_terms
from azul.core.fields import FieldRegistry, Value
from azul.core.filters import Filters, Is, Term
from azul.core.search import (
    Count,
    FacetResult,
    SummaryRequest,
    SummaryResult,
    Terms,
    order_terms,
)

# A facet's terms -> the companion field's distinct values, per facet name
Companions = Mapping[str, Mapping[Value, tuple[Value, ...]]]


def companion_requests(entity_type: str, filters: Filters, registry: FieldRegistry,
                       companions: Mapping[str, str]) -> dict[str, SummaryRequest]:
    """One summary request per facet with a companion field, by facet name."""
    return {
        facet: SummaryRequest(entity_type=entity_type,
                              filters=filters.without(facet),
                              aggregations=(Terms(name=facet,
                                                  field=registry[facet],
                                                  distinct=(registry[companion],)),))
        for facet, companion in companions.items()
        if facet in registry and companion in registry
    }


def companion_values(companions: Mapping[str, str],
                     results: Mapping[str, SummaryResult]) -> Companions:
    return {
        facet: {bucket.term: tuple(bucket.distinct.get(companions[facet], ()))
                for bucket in result[facet]}
        for facet, result in results.items()
    }


def accessible_requests(entity_type: str, filters: Filters, registry: FieldRegistry,
                        access: Access, source_field: str, total: int
                        ) -> dict[bool, SummaryRequest | int]:
    """
    The `accessible` facet depends on the caller, so it is counted, as the
    original synthesizes it, under every filter but the one on sources (into
    which a filter on `accessible` was folded): per term, the entities the
    caller may read or not (where access is limited, only the first; the
    scope already holds the limit). A count the search already made, its
    `total`, is given as a number rather than asked again: whenever the
    filters have no term on sources and the term adds none, which is every
    request to a catalog of public sources without such a filter.
    """
    field = registry[source_field]
    own = source_field in filters.fields()
    base = filters.without(source_field)
    terms: dict[bool, tuple[Term, ...]] = {
        True: () if access.limited else accessible_terms(field, access)}
    if not access.limited:
        terms[False] = (Is(field, tuple(sorted(access.unreadable))),)
    result: dict[bool, SummaryRequest | int] = {}
    for term, extra in terms.items():
        if not own and not extra:
            result[term] = total
        elif not own and not access.unreadable:
            # Of no source: nothing
            result[term] = 0
        else:
            result[term] = SummaryRequest(entity_type=entity_type,
                                          filters=Filters(base.terms + extra, base.scope),
                                          aggregations=(Count(name='count'),))
    return result


def accessible_facet(counts: Mapping[bool, int]) -> FacetResult:
    present: dict[Value, int] = {term: count for term, count in counts.items() if count}
    return FacetResult(total=sum(present.values()), counts=present)


def term_facets(registry: FieldRegistry, facets: Mapping[str, FacetResult],
                companions: Mapping[str, str], values: Companions) -> dict[str, Any]:
    result = {}
    for field in registry.facets:
        facet = facets.get(field.name)
        if facet is None:
            # Not counted by the backend (e.g. not requested): say so by an empty facet
            facet = FacetResult(total=0, counts={})
        companion = companions.get(field.name)
        terms = []
        for value, count in order_terms(facet.counts):
            term = {'term': field.term(value), 'count': count}
            if companion is not None:
                companion_field = registry[companion]
                term[companion] = [companion_field.term(v)
                                   for v in values.get(field.name, {}).get(value, ())]
            terms.append(term)
        result[field.name] = {'terms': terms, 'total': facet.total, 'type': 'terms'}
    return result
