"""
The layout of kept counts in a counts index (see `keeping`), as pure data:
one small state document per entity type, and one count document per
number kept, so that a writer rewrites only the numbers its writes change,
and concurrent writers meet only on the numbers they share.

The state document (id: the entity type) holds:

  valid     whether the count documents of `epoch` are the documents' counts
  leases    writer id -> the time (epoch seconds) its registration expires
  epoch     the recount the count documents in use belong to
  changes   how many writers changed the count documents of `epoch`: with
            it, names their content (a reader remembers what it built
            from one content)
  recount   (id, deadline) of a reader counting anew, while it does
  loading   set by `bulk_load`, whose writes do not register
  unkept    the facets had more terms than a page may list
  spec      the groupings kept (see `kept`)
  refused   groupings not kept, being too large

A count document holds one number of one epoch: `e` the entity type, `g`
the epoch, `c` the kind (`total`, `term`, `sum`, `grouped`), `p` the
grouping (`grouped` only), `k` the facet term, numeric property or grouping
entry, `n` the number (None: a sum not kept, see `kept.EXACT`). Its id is a
digest of these, so that every writer upserts the same document. A recount
writes the count documents of a new epoch and switches the state to it;
those of earlier epochs are deleted after.
"""
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from azul.backends.opensearch import kept

MAPPINGS = {
    'dynamic': False,
    'properties': {'e': {'type': 'keyword'}, 'g': {'type': 'long'}},
}

# Count documents of one epoch, at most: the facet terms a page may list, the
# groupings and the sums (a few)
MAX_DOCS = 50_000 + kept.MAX_GROUPED + 1_000

# Attempts at a count document's update that conflicts with another writer's
RETRY_ON_CONFLICT = 50

REGISTER = """
if (ctx._source.leases == null) { ctx._source.leases = [:]; }
ctx._source.leases[params.id] = params.deadline;
"""

# Deregisters a writer. A writer whose registration is gone was recounted
# past: its writes may or may not be in the recount.
SETTLE = """
def s = ctx._source;
if (s.leases == null || !s.leases.containsKey(params.id)) {
  s.valid = false;
} else {
  s.leases.remove(params.id);
  if (!params.apply) {
    s.valid = false;
  } else if (params.changed) {
    s.changes = (s.changes == null ? 0 : s.changes) + 1;
  }
}
"""

INVALIDATE = 'ctx._source.valid = false;'

LOADING = 'ctx._source.loading = true;'

# Ends a recount that could not store its counts, if it is still the one
END_RECOUNT = """
if (ctx._source.recount != null && ctx._source.recount[0] == params.id) {
  ctx._source.remove('recount');
} else { ctx.op = 'noop'; }
"""

# A count's document: a document count, deleted once no document has it
# (as a terms aggregation lists no empty bucket), or a sum
COUNT = """
long n = ctx._source.n + params.d;
if (n == 0 && params.drop) { ctx.op = 'delete'; } else { ctx._source.n = n; }
"""

SUM = """
def o = ctx._source.n;
if (o == null || params.d == null) { ctx._source.n = null; }
else {
  long n = o + params.d;
  if (Math.abs(n) >= params.exact) { ctx._source.n = null; } else { ctx._source.n = n; }
}
"""


def doc_id(entity_type: str, epoch: int, kind: str, grouping: str, key: str) -> str:
    # Facet terms may be longer than an id may be (512 bytes)
    digest = hashlib.blake2b('\0'.join((kind, grouping, key)).encode(), digest_size=16)
    return f'{entity_type}.{epoch}.{digest.hexdigest()}'


def _source(entity_type: str, epoch: int, kind: str, grouping: str, key: str,
            n: int | None) -> dict[str, Any]:
    return {'e': entity_type, 'g': epoch, 'c': kind, 'p': grouping, 'k': key, 'n': n}


def _numbers(delta: kept.Delta) -> Iterable[tuple[str, str, str, int | None]]:
    """(kind, grouping, key, change) of every number the delta changes."""
    if delta.total:
        yield 'total', '', '', delta.total
    for term, n in delta.terms.items():
        yield 'term', '', term, n
    for prop, n in delta.sums.items():
        if n != 0:
            yield 'sum', '', prop, n
    for grouping, group in delta.grouped.items():
        for key, n in group.items():
            if n != 0:
                yield 'grouped', grouping, key, n


def upserts(index: str, entity_type: str, epoch: int,
            delta: kept.Delta) -> list[dict[str, Any]]:
    """Bulk actions applying `delta` to the count documents of `epoch`."""
    actions = []
    for kind, grouping, key, n in _numbers(delta):
        summed = kind == 'sum' or grouping.startswith('sum')
        action: dict[str, Any] = {
            '_op_type': 'update', '_index': index,
            '_id': doc_id(entity_type, epoch, kind, grouping, key),
            'retry_on_conflict': RETRY_ON_CONFLICT,
            'script': {'source': SUM if summed else COUNT, 'lang': 'painless',
                       'params': {'d': n, 'exact': kept.EXACT, 'drop': kind != 'total'}},
        }
        if kind != 'sum':
            # A sum is kept only if counted (see `kept.recounted`); a new term
            # of a kept grouping starts from nothing
            action['upsert'] = _source(entity_type, epoch, kind, grouping, key, 0)
            action['scripted_upsert'] = True
        actions.append(action)
    return actions


def recount_docs(index: str, entity_type: str, epoch: int,
                 counts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Bulk actions writing the count documents of `counts` (from `kept.recounted`)."""
    numbers = [('total', '', '', counts['total'])]
    numbers += [('term', '', t, n) for t, n in counts['terms'].items()]
    numbers += [('sum', '', p, n) for p, n in counts['sums'].items()]
    numbers += [('grouped', g, k, n)
                for g, group in counts['grouped'].items() for k, n in group.items()]
    return [{'_op_type': 'index', '_index': index,
             '_id': doc_id(entity_type, epoch, kind, grouping, key),
             '_source': _source(entity_type, epoch, kind, grouping, key, n)}
            for kind, grouping, key, n in numbers]


def state_of(counts: Mapping[str, Any], epoch: int) -> dict[str, Any]:
    """The state document of recounted `counts`, stored in `epoch`."""
    return {'valid': counts['valid'], 'leases': {}, 'epoch': epoch, 'changes': 0,
            **({'unkept': True} if counts.get('unkept') else {}),
            'spec': list(counts.get('spec') or ()),
            'refused': list(counts.get('refused') or ())}


def search_body(entity_type: str, epoch: int) -> dict[str, Any]:
    return {'size': MAX_DOCS, 'track_total_hits': True, 'sort': ['_doc'],
            'query': {'bool': {'filter': [{'term': {'e': entity_type}},
                                          {'term': {'g': epoch}}]}}}


def assembled(state: Mapping[str, Any], sources: Sequence[Mapping[str, Any]],
              max_terms: int) -> dict[str, Any] | None:
    """
    The counts (as `kept` reads them) from the state and the sources of the
    count documents of its epoch; None if they cannot be the documents'
    counts (a count below zero: a writer's delta went wrong) or are too
    many to list.
    """
    total, terms, sums = 0, {}, {}
    spec = list(state.get('spec') or ())
    grouped: dict[str, dict[str, int | None]] = {key: {} for key in spec}
    for source in sources:
        kind, n = source['c'], source['n']
        if kind == 'sum':
            sums[source['k']] = n
        elif kind == 'grouped':
            group = grouped.get(source['p'])
            if group is not None:
                group[source['k']] = n
        elif n < 0:
            return None
        elif kind == 'total':
            total = n
        elif n:
            terms[source['k']] = n
    if len(terms) > max_terms:
        return None
    for key, group in grouped.items():
        if key.startswith('sum'):
            # A term without documents has no bucket
            grouped[key] = {t: n for t, n in group.items() if t in terms}
        elif any(n < 0 for n in group.values()):
            return None
        else:
            grouped[key] = {t: n for t, n in group.items() if n}
    return {**state, 'total': total, 'terms': terms, 'sums': sums, 'grouped': grouped}
