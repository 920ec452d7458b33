"""
During a reindex's bundle pass, what the DuckDB backend holds for the bulk
load (the key of every replica row written, millions at the size of HCA)
is out of the garbage collector's passes: a full pass walks every element
of a set, and the passes would cost more with every bundle indexed.
"""
import gc
import json
import uuid

from azul import envfiles
from azul.config import Config
from azul.indexer.reindex import reindex
from azul.runtime import Runtime
from azul_testing import STAGING_SOURCE, make_backend


def test_the_replica_keys_of_a_bulk_load_are_out_of_the_collectors_passes(tmp_path):
    env = envfiles.evaluate({})
    env.update(AZUL_CATALOGS=json.dumps({'staging': {
        'atlas': 'hca', 'internal': False,
        'plugins': {'metadata': {'name': 'hca'}, 'repository': {'name': 'canned'}},
        'sources': [STAGING_SOURCE]}}), AZUL_DATA_DIR=str(tmp_path))
    backend = make_backend('duckdb', tmp_path, 't' + uuid.uuid4().hex[:10])
    runtime = Runtime(Config.from_env(env), backend=backend)
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
