"""
Paging through /index/{entity_type} with search_after/search_before cursors.

A cursor is the sort key of a hit, `(sort value, entity id)`, sent as one JSON
array, e.g. `search_after=["blood","0b9a..."]`, so that a client echoing only
that value gets the right page. The value may be null: hits without a value
for the sort field sort last, and the entity id breaks the tie. The deprecated
two-parameter form (`search_after=<JSON value>&search_after_uid=<id>`) is
accepted too.

To know whether there is a page beyond this one without a second query, the
backend is asked for one hit more than the page size.
"""
import json
import math
from collections.abc import Mapping
from typing import Any

import attrs

from azul.core.fields import Field, check_text
from azul.core.search import Cursor, Hit, SearchRequest, SearchResult
from azul.errors import BadRequestError


def encode_cursor(cursor: Cursor) -> str:
    value, entity_id = cursor
    return json.dumps([value, entity_id], separators=(',', ':'))


def decode_cursor(name: str, text: Any, uid: str | None, field: Field) -> Cursor:
    """
    The cursor of parameter `name` (search_after or search_before) for sorting
    by `field`, from its JSON value and the deprecated `{name}_uid`.
    """
    if isinstance(text, str):
        try:
            value = json.loads(text)
        except ValueError as e:
            raise BadRequestError(f'The parameter {name!r} is not valid JSON: {e}') from None
    else:
        # From a POST body: already decoded
        value = text
    if uid is None:
        if not (isinstance(value, list) and len(value) == 2):
            raise BadRequestError(f'The parameter {name!r} must be a JSON array [sort value, '
                                  f'entity id], as in the `next` and `previous` links')
        value, entity_id = value
    else:
        entity_id = uid
    if not isinstance(entity_id, str) or not entity_id or not _text(entity_id):
        raise BadRequestError(f'The entity id in parameter {name!r} must be a non-empty '
                              f'string, not {entity_id!r}')
    return _sort_value(name, field, value), entity_id


def _sort_value(name: str, field: Field, value: Any) -> Any:
    if value is None:
        return None
    try:
        return field.type.parse_sort_value(value)
    except ValueError:
        raise BadRequestError(f'The sort value {value!r} in parameter {name!r} does not fit '
                              f'the sort field {field.name!r} of type {field.type.value}') from None


def _text(value: str) -> bool:
    try:
        check_text(value)
    except ValueError:
        return False
    return True


@attrs.frozen
class Page:
    hits: tuple[Hit, ...]
    total: int
    # Cursors of the neighbouring pages, None where there is none
    next: Cursor | None
    previous: Cursor | None


def overfetch(request: SearchRequest) -> SearchRequest:
    """The request to send: one hit more, to learn whether another page follows."""
    return attrs.evolve(request, size=request.size + 1)


def page(request: SearchRequest, result: SearchResult) -> Page:
    """The page of `request` (the original, not the over-fetching one) in `result`."""
    hits = result.hits
    size = request.size
    more = len(hits) > size
    if request.search_before is not None:
        # The extra hit precedes the page
        hits = hits[len(hits) - size:] if more else hits
        has_next, has_previous = True, more
    else:
        hits = hits[:size]
        has_next, has_previous = more, request.search_after is not None
    return Page(hits=tuple(hits),
                total=result.total,
                next=hits[-1].sort if hits and has_next else None,
                previous=hits[0].sort if hits and has_previous else None)


def pagination(request: SearchRequest, page: Page,
               link: Mapping[str, str | None], make_link) -> dict[str, Any]:
    """
    The `pagination` object of a response. `link` holds the parameters every
    link repeats; `make_link(params)` turns parameters into an absolute URL.
    """
    def neighbour(name: str, cursor: Cursor | None) -> str | None:
        return None if cursor is None else make_link({**link, name: encode_cursor(cursor)})

    return {
        'count': len(page.hits),
        'total': page.total,
        'size': request.size,
        'next': neighbour('search_after', page.next),
        'previous': neighbour('search_before', page.previous),
        'pages': math.ceil(page.total / request.size) if request.size else 0,
        'sort': request.sort.field.name,
        'order': request.sort.order,
    }

