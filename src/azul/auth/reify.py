"""
How the caller's access bounds a request, as the original Azul reifies its
filters (`Filters.reify`), as a pure function.

Two fields speak of access: `sourceId` (a real field, the entity's sources)
and `accessible` (synthetic: whether the caller may read a source of the
entity). A client's filters on them are folded into one `sourceId` term:

- Where access is *limited* (every entity type but the catalog's open one,
  `projects` in HCA, and always for manifests and file lookups) only entities
  of readable sources are seen. Naming an unreadable source in a `sourceId`
  filter is refused (403); `accessible: [false]` selects nothing.
- Where it is not, every entity is listed and marked: `accessible: [true]`
  selects the entities with a readable source, `[false]` those without one.

Deviations from the original, on purpose:

- Where access is limited, it is the *scope* of the request
  (`Filters.scope`), which every facet count respects. The original puts
  the limit into the `sourceId` term, which the `sourceId` facet (behind the
  `accessible` facet) ignores as its own filter, so its `false` term counted
  the entities a caller may not see, under any other filters: a leak of
  restricted data through counts, and a term whose selection finds nothing.
- An entity of several sources (which the original, one source per entity,
  never has) is accessible only if the caller may read every one of them.
"""
from collections.abc import Collection

import attrs

from azul.core.fields import Field, FieldRegistry
from azul.core.filters import Filters, Is, Term
from azul.errors import ForbiddenError, InvalidFilterError

SOURCE_ID = 'sourceId'
ACCESSIBLE = 'accessible'


@attrs.frozen
class Access:
    """The sources of a catalog the caller may read or not, and whether the request is limited."""
    readable: frozenset[str]
    #: The catalog's other sources
    unreadable: frozenset[str]
    limited: bool = True


def _values(term: Term) -> set:
    if not isinstance(term, Is) or term.negated:
        # The parser allows nothing but `is` on these fields
        raise InvalidFilterError(f'Only `is` may filter by {term.field.name!r}')
    return set(term.values)


def _is(field: Field, values: Collection[str], negated: bool = False) -> Is:
    return Is(field, tuple(sorted(values)), negated)


def accessible_terms(field: Field, access: Access) -> tuple[Is, ...]:
    """
    The entities the caller may read: of readable sources only. An entity
    of several sources (the same entity in bundles of two sources) is
    accessible only if the caller may read them all, since its aggregate
    holds what each of them contributed.
    """
    if not access.unreadable:
        return ()
    return _is(field, access.readable), _is(field, access.unreadable, negated=True)


def reify(filters: Filters, registry: FieldRegistry, access: Access,
          source_field: str = SOURCE_ID) -> Filters:
    """
    The filters a backend runs for a caller with `access`. `source_field` is
    the plugin's name of the sources field (`sourceId` in HCA, `source_id` in
    AnVIL, as in the original).
    """
    explicit: set | None = None
    accessible: set = {False, True}
    others = []
    for term in filters.terms:
        if term.field.name == source_field:
            values = _values(term)
            explicit = values if explicit is None else explicit & values
        elif term.field.name == ACCESSIBLE:
            accessible &= _values(term)
        else:
            others.append(term)
    field = registry[source_field]
    source_terms: list[Is] = [] if explicit is None else [_is(field, explicit)]
    scope: tuple[Term, ...] = filters.scope
    if access.limited:
        if explicit is not None:
            forbidden = explicit - access.readable
            if forbidden:
                # Worded, and shown with its argument, as the original's
                raise ForbiddenError('Cannot filter by inaccessible sources', forbidden)
        if True not in accessible:
            source_terms = [_is(field, ())]
        scope += accessible_terms(field, access)
    elif accessible == {True}:
        source_terms += accessible_terms(field, access)
    elif accessible == {False}:
        # Of a source the caller may not read
        source_terms.append(_is(field, access.unreadable))
    elif not accessible:
        source_terms = [_is(field, ())]
    return Filters(tuple(others) + tuple(source_terms), scope)


def is_accessible(sources: Collection[str], readable: Collection[str]) -> bool:
    """Whether an entity of `sources` is accessible: the caller may read all of them."""
    return bool(sources) and all(s in readable for s in sources)
