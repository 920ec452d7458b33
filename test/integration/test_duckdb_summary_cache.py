"""
DuckDB's cache of summaries by content version (`azul.backends.duckdb.cache`):
a repeated summary is the kept one until a write (of this backend object or
another on the same file) stamps a new version, a generation being built is
never kept, and `result_cache=False` keeps nothing. Answers are checked
against counts worked out by hand.
"""
import pytest

from azul.backends.base import AggregateWrite
from azul.backends.duckdb import DuckDBBackend
from azul.core.documents import Aggregate, BundleFQID, IndexedAggregate
from azul.core.fields import Field, FieldRegistry, FieldType
from azul.core.filters import Filters, Is
from azul.core.search import Count, Sum, SummaryRequest, TermBucket, Terms

CATALOG, ENTITY_TYPE = 'cat', 'files'

REGISTRY = FieldRegistry((
    Field('format', FieldType.keyword, 'contents.format', facet=True),
    Field('size', FieldType.long, 'contents.size'),
))
R = REGISTRY.__getitem__


def _request(filters: Filters = Filters()) -> SummaryRequest:
    return SummaryRequest(ENTITY_TYPE, filters, (
        Count('fileCount'),
        Sum('totalSize', R('size')),
        Terms('formats', R('format'), sums=(R('size'),)),
    ))


def _doc(entity_id: str, format_: str, size: int) -> IndexedAggregate:
    fields = {'format': (format_,), 'size': (size,)}
    contents = {name: list(values) for name, values in fields.items()}
    aggregate = Aggregate(entity_type=ENTITY_TYPE, entity_id=entity_id, contents=contents,
                          bundles=(BundleFQID('b', 'v'),), sources=('s',), num_contributions=1)
    return IndexedAggregate(aggregate, fields)


def _write(backend: DuckDBBackend, *docs: IndexedAggregate) -> None:
    writes = [AggregateWrite(d.entity_id, d, None) for d in docs]
    assert backend.write_aggregates(CATALOG, ENTITY_TYPE, writes) == []


@pytest.fixture
def path(tmp_path):
    return tmp_path / 'cache.duckdb'


@pytest.fixture
def backend(path):
    backend = DuckDBBackend(path, 'azul', 'cache')
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    _write(backend, _doc('a', 'bam', 10), _doc('b', 'bam', 5))
    yield backend
    backend.close()


def test_a_repeated_summary_is_kept_until_a_write(backend):
    first = backend.summary(CATALOG, _request())
    assert first == {'fileCount': 2, 'totalSize': 15.0,
                     'formats': (TermBucket('bam', 2, {'size': 15.0}),)}
    assert backend.summary(CATALOG, _request()) is first
    # Each request has its entry: the filtered one is computed, then kept too
    bam = _request(Filters((Is(R('format'), ('bam',)),)))
    filtered = backend.summary(CATALOG, bam)
    assert filtered == first and filtered is not first
    assert backend.summary(CATALOG, bam) is filtered
    _write(backend, _doc('c', 'fastq', 7))
    after = backend.summary(CATALOG, _request())
    assert after == {'fileCount': 3, 'totalSize': 22.0,
                     'formats': (TermBucket('bam', 2, {'size': 15.0}),
                                 TermBucket('fastq', 1, {'size': 7.0}))}
    assert backend.summary(CATALOG, bam)['fileCount'] == 2
    # A delete is a write too
    deleted = [AggregateWrite('a', None, backend.read_versions(CATALOG, ENTITY_TYPE, ['a'])['a'])]
    assert backend.write_aggregates(CATALOG, ENTITY_TYPE, deleted) == []
    assert backend.summary(CATALOG, bam) == {'fileCount': 1, 'totalSize': 5.0,
                                             'formats': (TermBucket('bam', 1, {'size': 5.0}),)}


def test_another_backend_objects_write_is_seen(backend, path):
    first = backend.summary(CATALOG, _request())
    other = DuckDBBackend(path, 'azul', 'cache')
    try:
        _write(other, _doc('c', 'fastq', 7))
    finally:
        other.close()
    after = backend.summary(CATALOG, _request())
    assert after is not first and after['fileCount'] == 3


def test_a_generation_being_built_is_not_kept(backend):
    live = backend.summary(CATALOG, _request())
    backend.begin_generation(CATALOG, [ENTITY_TYPE], REGISTRY)
    try:
        # This object now reads the new generation, which writes fill without a new version
        empty = backend.summary(CATALOG, _request())
        assert empty['fileCount'] == 0 and empty is not live
        _write(backend, _doc('c', 'fastq', 7))
        built = backend.summary(CATALOG, _request())
        assert built['fileCount'] == 1 and backend.summary(CATALOG, _request()) is not built
        backend.switch_generation(CATALOG)
    except BaseException:
        backend.abandon_generation(CATALOG)
        raise
    assert backend.summary(CATALOG, _request())['fileCount'] == 1


def test_nothing_is_kept_when_turned_off(path, backend):
    uncached = DuckDBBackend(path, 'azul', 'cache', result_cache=False)
    try:
        first = uncached.summary(CATALOG, _request())
        again = uncached.summary(CATALOG, _request())
        assert first == again and first is not again
    finally:
        uncached.close()
