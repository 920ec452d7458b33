"""
What one bundle of one file writes, for the DuckDB transaction tests, and a
reader on a thread of its own (DuckDB's transactions are per thread).
"""
import threading

from azul.backends.base import Replica
from azul.core.documents import Aggregate, BundleFQID, Contribution, IndexedAggregate

CATALOG = 'test'
V1 = '2020-01-01T00:00:00.000000Z'


def file_round(entity_id: str) -> tuple[Replica, Contribution, IndexedAggregate]:
    """The replica, contribution and aggregate of a bundle `b-<entity_id>` of one file."""
    bundle = BundleFQID('b-' + entity_id, V1)
    replica = Replica('file', entity_id, {'name': entity_id}, 'src', (entity_id,))
    contents = {'files': [{'document_id': entity_id}]}
    contribution = Contribution(entity_type='files', entity_id=entity_id, bundle=bundle,
                                source='src', deleted=False, contents=contents)
    aggregate = Aggregate(entity_type='files', entity_id=entity_id, contents=contents,
                          bundles=(bundle,), sources=('src',), num_contributions=1)
    return replica, contribution, IndexedAggregate(aggregate, {})


def from_another_thread(function, *args):
    result = []
    thread = threading.Thread(target=lambda: result.append(function(*args)))
    thread.start()
    thread.join()
    return result[0]
