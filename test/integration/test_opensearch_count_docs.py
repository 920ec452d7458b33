"""
The layout of OpenSearch's kept counts (`azul.backends.opensearch.count_docs`)
under concurrent writers, failures and folds: writers that share terms at
once each list their delta and the counts add up; a failed bulk request and
a delta listed but lost make readers count anew; deltas past the limit are
folded into a new epoch. Expected counts are worked out by hand from the
documents of `test_opensearch_kept_counts`.
"""
import threading

import attrs
import pytest
from opensearchpy import OpenSearch
from test_opensearch_kept_counts import (
    CATALOG,
    ENTITY_TYPE,
    FOUR,
    FOUR_GROUPED,
    REGISTRY,
    A,
    B,
    C,
    D,
    _backend,
    _create,
    _grouped,
    _kept,
    _same,
)

from azul.backends.opensearch import count_docs
from azul.core.documents import IndexedAggregate
from azul.errors import AzulError

pytestmark = pytest.mark.opensearch

# A and B, by hand
TWO = {'valid': True, 'leases': {}, 'total': 2,
       'terms': {'fileFormat\t"bam"': 2, 'organ\t"brain"': 2, 'organ\t"liver"': 1},
       'sums': {'fileSize': 30}}


def _state(raw: OpenSearch, deployment: str) -> dict:
    return raw.get(index=f'azul_{deployment}_{CATALOG}_counts', id=ENTITY_TYPE)['_source']


def _counted(backend, searched) -> None:
    """Nothing written yet: a reader counts (nothing), with the groupings summaries use."""
    _same(backend, searched, [])


def test_writers_sharing_terms_at_once(es_endpoint, deployment, raw):
    backend = _backend(es_endpoint, deployment)
    searched = _backend(es_endpoint, deployment, kept_counts=False)
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    _counted(backend, searched)
    # Four writers, one document each, sharing `bam`, `brain`, `liver` and
    # the sum, all registered before any writes
    writers = [_backend(es_endpoint, deployment) for _ in range(4)]
    start = threading.Barrier(4)
    errors = []

    def write(writer, doc):
        try:
            start.wait()
            assert _create(writer, [doc]) == []
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=write, args=(w, d)) for w, d in zip(writers, [A, B, C, D],
                                                                           strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    state = _state(raw, deployment)
    assert len(state['deltas']) == 4 and state['leases'] == {} and state['valid'] is True
    assert _kept(raw, deployment) == FOUR
    assert _grouped(raw, deployment) == FOUR_GROUPED
    _same(backend, searched, [A, B, C, D])
    for b in (backend, searched, *writers):
        b.close()


def test_a_failed_bulk_request_makes_readers_count(es_endpoint, deployment, raw):
    backend = _backend(es_endpoint, deployment)
    searched = _backend(es_endpoint, deployment, kept_counts=False)
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    assert _create(backend, [A, B]) == []
    _same(backend, searched, [A, B])
    # An id longer than OpenSearch takes (512 bytes) fails the whole request
    long_id = 'x' * 600
    aggregate = attrs.evolve(C.aggregate, entity_id=long_id)
    bad = IndexedAggregate(aggregate, REGISTRY.extract(aggregate.to_json()))
    with pytest.raises(AzulError):
        _create(backend, [D, bad])
    state = _state(raw, deployment)
    assert state['valid'] is False and state['leases'] == {} and state['deltas'] == []
    # The next reader counts what is there
    _same(backend, searched, [A, B])
    assert _kept(raw, deployment) == TWO
    for b in (backend, searched):
        b.close()


def test_a_lost_delta_makes_readers_count(es_endpoint, deployment, raw):
    backend = _backend(es_endpoint, deployment)
    reader = _backend(es_endpoint, deployment)
    searched = _backend(es_endpoint, deployment, kept_counts=False)
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    _counted(backend, searched)
    assert _create(backend, [A, B]) == []
    [delta] = _state(raw, deployment)['deltas']
    raw.delete(index=f'azul_{deployment}_{CATALOG}_counts', id=delta, refresh=True)
    # Listed but gone: a reader that never read it counts anew
    _same(reader, searched, [A, B])
    state = _state(raw, deployment)
    assert state['deltas'] == [] and state['valid'] is True
    assert _kept(raw, deployment) == TWO
    for b in (backend, reader, searched):
        b.close()


def test_deltas_are_folded_into_a_new_epoch(es_endpoint, deployment, raw, monkeypatch):
    monkeypatch.setattr(count_docs, 'MAX_DELTAS', 2)
    backend = _backend(es_endpoint, deployment)
    reader = _backend(es_endpoint, deployment)
    searched = _backend(es_endpoint, deployment, kept_counts=False)
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    _counted(backend, searched)
    epoch = _state(raw, deployment)['epoch']
    assert _create(backend, [A]) == []
    _same(reader, searched, [A])
    # One delta: not yet
    assert len(_state(raw, deployment)['deltas']) == 1
    assert _create(backend, [B]) == []
    _same(reader, searched, [A, B])
    state = _state(raw, deployment)
    assert state['deltas'] == [] and state['epoch'] != epoch
    # The count documents of the new epoch: 3 terms, a sum, the total, and the
    # groupings' 3 entries (bam's sum of sizes; brain and liver with bam)
    assert state['size'] == 8
    assert _kept(raw, deployment) == TWO
    for doc in (C, D):
        assert _create(backend, [doc]) == []
    assert len(_state(raw, deployment)['deltas']) == 2
    # A reader that read none of it: the new epoch, then the deltas
    fresh = _backend(es_endpoint, deployment)
    _same(fresh, searched, [A, B, C, D])
    assert _kept(raw, deployment) == FOUR
    assert _grouped(raw, deployment) == FOUR_GROUPED
    for b in (backend, reader, searched, fresh):
        b.close()


def test_deltas_no_reader_folds_end_in_a_recount(es_endpoint, deployment, raw, monkeypatch):
    monkeypatch.setattr(count_docs, 'LISTED_DELTAS', 1)
    backend = _backend(es_endpoint, deployment)
    searched = _backend(es_endpoint, deployment, kept_counts=False)
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    _counted(backend, searched)
    assert _create(backend, [A]) == []
    assert _state(raw, deployment)['valid'] is True
    # One delta more than a state may list
    assert _create(backend, [B]) == []
    state = _state(raw, deployment)
    assert state['valid'] is False and len(state['deltas']) == 1
    _same(backend, searched, [A, B])
    state = _state(raw, deployment)
    assert state['valid'] is True and state['deltas'] == []
    assert _kept(raw, deployment) == TWO
    for b in (backend, searched):
        b.close()
