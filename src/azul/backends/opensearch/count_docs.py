"""
The layout of kept counts in a counts index (see `keeping`), as pure data:
one small state document per entity type; the counts of an epoch, one count
document per number, written once by a recount (or a fold, below) and never
changed; and one delta document per write, written once by its writer. A
write thus adds one small document and changes the small state, and
concurrent writers meet only on the state.

The state document (id: the entity type) holds:

  valid     whether the counts of `epoch` plus `deltas` are the documents'
  leases    writer id -> the time (epoch seconds) its registration expires
  epoch     the recount (or fold) whose count documents are the base
  size      how many count documents that epoch has (a reader that finds
            fewer read while a fold or recount deleted them)
  deltas    the ids of the delta documents applied since, in order
  recount   (id, deadline) of a reader counting anew, while it does
  loading   set by `bulk_load`, whose writes do not register
  unkept    the facets had more terms than a page may list
  spec      the groupings kept (see `kept`)
  refused   groupings not kept, being too large

A count document holds one number of one epoch: `e` the entity type, `g`
the epoch, `c` the kind (`total`, `term`, `sum`, `grouped`), `p` the
grouping (`grouped` only), `k` the facet term, numeric property or grouping
entry, `n` the number (None: a sum not kept, see `kept.EXACT`).

A delta document (id: its writer's) holds `e`, `c` = `delta` and `d`, the
delta (`kept.Delta.params`) as JSON text: the node parses no field of it.
Deltas add up in any order (counts and integral sums do; a sum once not
integral stays so), so a state's deltas apply to its epoch's counts whatever
the order writers settled in. Once a state lists `MAX_DELTAS` deltas, a
reader folds them: it writes the counts it built as the count documents of
a new epoch, and moves the state to it, dropping the deltas folded, in one
scripted update that checks they are still the first listed.
"""
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from azul.backends.opensearch import kept

MAPPINGS = {
    'dynamic': False,
    'properties': {'e': {'type': 'keyword'}, 'g': {'type': 'long'}},
}

# Count documents of one epoch, at most: the facet terms a page may list, the
# groupings and the sums (a few)
MAX_DOCS = 50_000 + kept.MAX_GROUPED + 1_000

# Deltas a state lists before a reader folds them into a new epoch
MAX_DELTAS = 64

# Deltas a state lists at most: past them (no reader folded them), a writer
# marks the counts invalid instead, for the next reader to count anew
LISTED_DELTAS = 4 * MAX_DELTAS

REGISTER = """
if (ctx._source.leases == null) { ctx._source.leases = [:]; }
ctx._source.leases[params.id] = params.deadline;
"""

# Deregisters a writer, listing its delta (if any). A writer whose
# registration is gone was recounted past: its writes may or may not be in
# the recount.
SETTLE = """
def s = ctx._source;
if (s.leases == null || !s.leases.containsKey(params.id)) {
  s.valid = false;
} else {
  s.leases.remove(params.id);
  if (!params.apply) {
    s.valid = false;
  } else if (params.delta != null && s.valid == true) {
    if (s.deltas == null) { s.deltas = []; }
    if (s.deltas.size() >= params.max_deltas) {
      // No reader folded them: this document must stay small
      s.valid = false;
    } else {
      s.deltas.add(params.delta);
    }
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

# Moves the state to the epoch that folded its first deltas, if they still are
FOLD = """
def s = ctx._source;
def d = s.deltas == null ? [] : s.deltas;
int m = params.folded.size();
if (s.valid == true && s.epoch == params.epoch && d.size() >= m
    && d.subList(0, m).equals(params.folded)) {
  s.epoch = params.next;
  s.size = params.size;
  s.deltas = new ArrayList(d.subList(m, d.size()));
} else { ctx.op = 'noop'; }
"""


def doc_id(entity_type: str, epoch: int, kind: str, grouping: str, key: str) -> str:
    # Facet terms may be longer than an id may be (512 bytes)
    digest = hashlib.blake2b('\0'.join((kind, grouping, key)).encode(), digest_size=16)
    return f'{entity_type}.{epoch}.{digest.hexdigest()}'


def delta_source(entity_type: str, delta: kept.Delta) -> dict[str, Any]:
    return {'e': entity_type, 'c': 'delta', 'd': orjson.dumps(delta.params()).decode()}


def delta_of(source: Mapping[str, Any]) -> dict[str, Any]:
    return orjson.loads(source['d'])


def base_docs(index: str, entity_type: str, epoch: int,
              counts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Bulk actions writing the count documents of `counts` as those of `epoch`."""
    numbers = [('total', '', '', counts['total'])]
    numbers += [('term', '', t, n) for t, n in counts['terms'].items()]
    numbers += [('sum', '', p, n) for p, n in counts['sums'].items()]
    numbers += [('grouped', g, k, n)
                for g, group in counts['grouped'].items() for k, n in group.items()]
    return [{'_op_type': 'index', '_index': index,
             '_id': doc_id(entity_type, epoch, kind, grouping, key),
             '_source': {'e': entity_type, 'g': epoch, 'c': kind, 'p': grouping, 'k': key,
                         'n': n}}
            for kind, grouping, key, n in numbers]


def size(counts: Mapping[str, Any]) -> int:
    """How many count documents `base_docs` writes."""
    return 1 + len(counts['terms']) + len(counts['sums']) + sum(map(len,
                                                                   counts['grouped'].values()))


def state_of(counts: Mapping[str, Any], epoch: int) -> dict[str, Any]:
    """The state document of recounted `counts`, stored in `epoch`."""
    return {'valid': counts['valid'], 'leases': {}, 'epoch': epoch, 'deltas': [],
            'size': size(counts) if counts['valid'] else 0,
            **({'unkept': True} if counts.get('unkept') else {}),
            'spec': list(counts.get('spec') or ()),
            'refused': list(counts.get('refused') or ())}


def search_body(entity_type: str, epoch: int) -> dict[str, Any]:
    return {'size': MAX_DOCS, 'track_total_hits': True, 'sort': ['_doc'],
            'query': {'bool': {'filter': [{'term': {'e': entity_type}},
                                          {'term': {'g': epoch}}]}}}


def assembled(spec: Sequence[str], sources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The counts (as `kept` reads them) of the count documents of an epoch."""
    total, terms, sums = 0, {}, {}
    grouped: dict[str, dict[str, int | None]] = {key: {} for key in spec}
    for source in sources:
        kind, n = source['c'], source['n']
        if kind == 'sum':
            sums[source['k']] = n
        elif kind == 'grouped':
            group = grouped.get(source['p'])
            if group is not None:
                group[source['k']] = n
        elif kind == 'total':
            total = n
        else:
            terms[source['k']] = n
    return {'total': total, 'terms': terms, 'sums': sums, 'grouped': grouped}


def _count(counts: dict[str, int], key: str, change: int) -> bool:
    """
    Apply a change to a count, dropping it at zero (an aggregation lists no
    empty bucket); False if the count would go below zero.
    """
    n = counts.get(key, 0) + change
    if n < 0:
        return False
    elif n:
        counts[key] = n
    else:
        counts.pop(key, None)
    return True


def _added(old: int | None, change: int | None) -> int | None:
    if old is None or change is None:
        return None
    n = old + change
    return None if abs(n) >= kept.EXACT else n


def applied(counts: Mapping[str, Any], deltas: Sequence[Mapping[str, Any]],
            max_terms: int) -> dict[str, Any] | None:
    """
    The counts after the deltas (`kept.Delta.params`), a new object; None if
    they cannot be the documents' counts (a count below zero, a grouping
    not kept): a delta went wrong.
    """
    total, terms, sums = counts['total'], dict(counts['terms']), dict(counts['sums'])
    grouped = {key: dict(group) for key, group in counts['grouped'].items()}
    for delta in deltas:
        total += delta['total']
        for term, change in delta['terms'].items():
            if not _count(terms, term, change):
                return None
        for prop, change in delta['sums'].items():
            # Only the sums counted are kept
            if prop in sums:
                sums[prop] = _added(sums[prop], change)
        for key, changes in delta['grouped'].items():
            group = grouped.get(key)
            if group is None:
                return None
            summed = key.startswith('sum')
            for entry, change in changes.items():
                if summed:
                    group[entry] = _added(group.get(entry, 0), change)
                elif not _count(group, entry, change):
                    return None
    if total < 0 or len(terms) > max_terms:
        return None
    for key, group in grouped.items():
        if key.startswith('sum'):
            # A term without documents has no bucket
            for term in [t for t in group if t not in terms]:
                del group[term]
    return {'total': total, 'terms': terms, 'sums': sums, 'grouped': grouped}
