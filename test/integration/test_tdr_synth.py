"""
Synthetic bundles through a TDR snapshot and back: `azul.synth.tdr` writes
the tables of a synthetic catalog, the local BigQuery stand-in serves them,
and the `tdr_hca` builder must give every bundle (at its newest version) as
the generator wrote it: the expected values are the generator's files.
"""
import json
from pathlib import Path

from azul.plugins.repository.tdr import hca_bundles
from azul.plugins.repository.tdr.bigquery import BigQueryTableClient
from azul.plugins.repository.tdr.local_bigquery import LocalBigQuery
from azul.synth import generate
from azul.synth.tdr import read_bundles, write_tables


def test_synthetic_bundles_round_trip(tmp_path: Path):
    bundles_dir, tables = tmp_path / 'bundles', tmp_path / 'tables.json'
    generate(45, bundles_dir, seed=5)
    assert write_tables(bundles_dir, tables) > 45  # some bundles have two versions
    newest = {}
    for uuid, version, bundle in read_bundles(bundles_dir):
        if uuid not in newest or newest[uuid][0] < version:
            newest[uuid] = version, bundle
    with LocalBigQuery(project='synth', datasets={'snapshot': tables}) as bigquery:
        client = BigQueryTableClient('synth', endpoint=bigquery.url)
        sql_tables = hca_bundles.SQLHCATables(client, 'synth.snapshot')
        listed = hca_bundles.list_bundles(sql_tables)
        assert sorted(listed) == sorted((u, v) for u, (v, _) in newest.items())
        for uuid, version in listed:
            built = hca_bundles.build_bundle(sql_tables, 'tdr:bigquery:gcp:synth:snapshot:',
                                             uuid, version)
            expected = newest[uuid][1]
            for part in ('manifest', 'metadata', 'links'):
                assert json.loads(json.dumps(getattr(built, part))) == expected[part], \
                    (uuid, part)
            assert built.stitched == frozenset(expected.get('stitched', ()))
