"""
Synthetic bundles through a TDR snapshot and back: `azul_dev.synth.tdr` writes
the tables of a synthetic catalog, the local BigQuery stand-in serves them,
and the `tdr_hca` builder must give every bundle (at its newest version) as
the generator wrote it: the expected values are the generator's files.
"""
import json
from pathlib import Path

from azul.plugins.repository.tdr import hca_bundles
from azul.plugins.repository.tdr.anvil import TDRAnvilRepository
from azul.plugins.repository.tdr.bigquery import BigQueryTableClient
from azul.plugins.repository.tdr.local_bigquery import LocalBigQuery
from azul_dev.synth import generate
from azul_dev.synth.anvil import generate_anvil
from azul_dev.synth.tdr import anvil_tables_from_bundles, read_bundles, write_tables


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


class _Config:
    def __init__(self, endpoint: str):
        self.bigquery_endpoint = endpoint


def test_synthetic_anvil_datasets_round_trip(tmp_path: Path):
    # Each synthetic dataset as a snapshot of its own, through the stand-in
    # and `tdr_anvil`: every primary and supplementary bundle comes back as
    # the generator wrote it (DUOS bundles come from DUOS, not from tables)
    out = tmp_path / 'anvil'
    generate_anvil(40, out, seed=4)
    documents = {p.name.split('.')[0]: json.loads(p.read_text())
                 for p in out.glob('*.tdr.anvil.json')}
    snapshots = anvil_tables_from_bundles(documents.values())
    assert len(snapshots) >= 3
    datasets = {}
    for i, snapshot in enumerate(snapshots.values()):
        path = tmp_path / f'snapshot{i}.json'
        path.write_text(json.dumps(snapshot))
        datasets[f'snapshot{i}'] = path
    checked = 0
    with LocalBigQuery(project='synth', datasets=datasets) as bigquery:
        plugin = TDRAnvilRepository(_Config(bigquery.url))
        for name in datasets:
            source = f'tdr:bigquery:gcp:synth:{name}:'
            for fqid in plugin.list_bundles(source).bundles:
                bundle = plugin.fetch_bundle(source, fqid)
                expected = documents[fqid.uuid]
                assert bundle.metadata == expected['entities'], fqid
                assert bundle.links == {'links': expected['links']}, fqid
                checked += 1
        plugin.close()
    duos = sum(1 for d in documents.values() if not d['links'] and len(d['entities']) == 1)
    assert checked == len(documents) - duos
