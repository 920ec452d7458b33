"""
During a reindex's bundle pass, what the DuckDB backend holds for the bulk
load (the key of every replica row written, millions at the size of HCA)
is out of the garbage collector's passes: a full pass walks every element
of a set, and the passes would cost more with every bundle indexed. Both
passes take full passes rarely: what waits in them (chunks of bundles,
batches of aggregates) outlives the young passes and is freed by reference
counting.
"""
import gc
import json
import uuid

from azul import envfiles
from azul.config import Config
from azul.indexer.reindex import reindex
from azul.runtime import Runtime
from azul_testing import STAGING_SOURCE, make_backend


def _runtime(tmp_path) -> Runtime:
    env = envfiles.evaluate({})
    env.update(AZUL_CATALOGS=json.dumps({'staging': {
        'atlas': 'hca', 'internal': False,
        'plugins': {'metadata': {'name': 'hca'}, 'repository': {'name': 'canned'}},
        'sources': [STAGING_SOURCE]}}), AZUL_DATA_DIR=str(tmp_path))
    backend = make_backend('duckdb', tmp_path, 't' + uuid.uuid4().hex[:10])
    return Runtime(Config.from_env(env), backend=backend)


def test_the_replica_keys_of_a_bulk_load_are_out_of_the_collectors_passes(tmp_path):
    runtime = _runtime(tmp_path)
    backend = runtime.backend
    seen = []

    def on_bundle(n: int) -> None:
        [keys] = backend._replica_keys.values()
        # By identity: `in` would compare the set with every object by value
        seen.append((len(keys), any(o is keys for o in gc.get_objects())))

    try:
        report = reindex(runtime, 'staging', workers=1, on_bundle=on_bundle)
    finally:
        runtime.close()
    assert report.bundles == 4
    # One chunk of the four bundles; the keys of their replicas, held where
    # the passes do not look
    [(size, tracked)] = seen
    assert size > 0 and not tracked


def test_both_passes_of_a_reindex_take_full_passes_ten_times_as_rarely(tmp_path):
    runtime = _runtime(tmp_path)
    threshold = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        during = {'bundles': set(), 'contributions': set()}
        report = reindex(runtime, 'staging', workers=1,
                         on_bundle=lambda n: during['bundles'].add(gc.get_threshold()),
                         on_entities=lambda n: during['contributions'].add(gc.get_threshold()))
        after = gc.get_threshold()
    finally:
        gc.set_threshold(*threshold)
        runtime.close()
    assert report.aggregates > 0
    assert during == {'bundles': {(700, 10, 100)}, 'contributions': {(700, 10, 100)}}
    assert after == (700, 10, 10)
