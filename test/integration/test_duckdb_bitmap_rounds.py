"""
The DuckDB term bitmaps through many rounds of random writes: after each
round (new documents, rewritten ones, deletions, terms that appear and
vanish, values that turn multi-valued or null), the bitmaps advance, and
every page in both directions, every sort and the summary of each filter
equal the SQL path's (a backend object with the bitmaps off, reading the
same file). The hand-checked counts are in `test_duckdb_bitmaps`; this test
checks agreement over write sequences no one wrote by hand.
"""
import random

import pytest
from backend_data import replace_aggregates
from test_duckdb_bitmaps import (
    CATALOG,
    ENTITY_TYPE,
    NOT_RED,
    RED,
    RED_OR_BLUE_FLAGGED,
    REGISTRY,
    SORTS,
    R,
    _built,
    _count_calls,
    _doc,
    _pages,
    _request,
    _summary_request,
    builds,  # noqa: F401 (a fixture)
    unpaused,  # noqa: F401 (a fixture)
)

from azul.backends.duckdb import DuckDBBackend
from azul.core.filters import Filters, Is

# A term no document has at first; each round may add or remove it
PURPLE_OR_NONE = Filters((Is(R('color'), ('purple', None)),))
FILTERS = (RED, RED_OR_BLUE_FLAGGED, NOT_RED, PURPLE_OR_NONE)

COLORS = ('red', 'blue', 'green', 'purple', None, ['red', 'blue'], ['green', 'purple'])
FLAGS = (True, False, None, [True, False])
SIZES = (1, 2, 3, 5, 8, None, [2, 9])
NAMES = ('n0', 'n1', 'n2', 'n3', None)


def _random_doc(rng: random.Random, entity_id: str):
    contents = {'color': rng.choice(COLORS), 'flag': rng.choice(FLAGS),
                'size': rng.choice(SIZES), 'name': rng.choice(NAMES)}
    # Some documents lack a field altogether, as well as having it null
    return _doc(entity_id, **{k: v for k, v in contents.items() if rng.random() < 0.9})


@pytest.fixture
def pair(tmp_path):
    path = tmp_path / 'rounds.duckdb'
    backend = DuckDBBackend(path, 'azul', 'rounds', result_cache=False, bitmap_min_rows=0)
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    plain = DuckDBBackend(path, 'azul', 'rounds', result_cache=False, bitmap_limit=0)
    yield backend, plain
    plain.close()
    backend.close()


@pytest.mark.parametrize('seed', [1, 2])
def test_rounds_of_random_writes(pair, builds, monkeypatch, seed):  # noqa: F811
    backend, plain = pair
    advances = _count_calls(monkeypatch, 'advance')
    rng = random.Random(seed)
    ids = [f'e{i:02d}' for i in range(24)]
    stored = set(rng.sample(ids, 12))
    replace_aggregates(backend, CATALOG, ENTITY_TYPE, [_random_doc(rng, i) for i in sorted(stored)])
    for filters in FILTERS:
        for sort in SORTS:
            _built(backend, _request(filters, sort, size=3))
    for _ in range(5):
        present = sorted(stored)
        absent = sorted(set(ids) - stored)
        new = rng.sample(absent, min(len(absent), rng.randint(0, 3)))
        rewritten = rng.sample(present, min(len(present), rng.randint(1, 4)))
        deleted = rng.sample(sorted(set(present) - set(rewritten)),
                             min(len(present) - len(rewritten), rng.randint(0, 3)))
        docs = [_random_doc(rng, i) for i in new + rewritten]
        replace_aggregates(backend, CATALOG, ENTITY_TYPE, docs, deleted=deleted)
        stored = (stored | set(new)) - set(deleted)
        for filters in FILTERS:
            request = _summary_request(filters)
            assert backend.summary(CATALOG, request) == plain.summary(CATALOG, request)
            for sort in SORTS:
                # Answered by the bitmaps, then compared page by page
                _built(backend, _request(filters, sort, size=3))
                assert _pages(backend, filters, sort) == _pages(plain, filters, sort)
    # The bitmaps advanced with every round's write, never built again: a
    # small table's changes are below `bitmap_advance.ADVANCE_MIN`
    assert advances[0] >= 5
    assert builds[0] == 1
