"""The HCA metadata model and links parsing, on real fixture bundles."""
import json
import logging
from pathlib import Path

import pytest

from azul.core.documents import BundleFQID
from azul.errors import RepositoryError
from azul.plugins.metadata.hca.graph import Graph
from azul.plugins.metadata.hca.links import parse_links
from azul.plugins.metadata.hca.model import HCABundle
from azul.plugins.repository.base import Bundle

VERSION = '2021-01-01T00:00:00.000000Z'


def load(fixtures_dir: Path, name: str) -> tuple[dict, Bundle]:
    path = fixtures_dir / 'hca' / 'bundles' / 'indexer' / name
    raw = json.loads(path.read_text())
    bundle = Bundle(fqid=BundleFQID(name[:36], VERSION), source='test',
                    manifest=raw['manifest'], metadata=raw['metadata'], links=raw['links'],
                    stitched=frozenset(raw.get('stitched', ())))
    return raw, bundle


def ids_of(raw: dict, schema_name: str) -> set[str]:
    return {k.partition('/')[2] for k in raw['metadata'] if k.startswith(schema_name + '/')}


def test_edge_list_links(fixtures_dir):
    raw, bundle = load(fixtures_dir, '17a3d288-01a0-464a-9599-7375fda3353d.dss.hca.json')
    edges = raw['links']['links']
    assert all('source_id' in e for e in edges)
    links = parse_links(raw['links'])
    process_ids = {e['source_id'] for e in edges if e['source_type'] not in
                   ('biomaterial', 'file', 'protocol')}
    assert {p.process_id for p in links.processes} == process_ids
    # Every edge lands in exactly one slot of one process link
    slots = sum(len(p.inputs) + len(p.outputs) + len(p.protocols) for p in links.processes)
    assert slots == len(edges)
    model = HCABundle(bundle)
    graph = Graph(model)
    # Read from the file: every fastq derives from specimen d231b8f3 (spleen) of donor
    # 9a7acc6d through cell suspension a86b1fda
    for file_id in ids_of(raw, 'sequence_file'):
        assert graph.ancestor_samples(file_id) == ('d231b8f3-8fa3-4f3b-a8e5-66eca6228ae7',)
        ancestors = set(graph.ancestors(file_id))
        assert {'9a7acc6d-8352-497e-b162-5e63b380366f',
                'a86b1fda-bb1d-4ef8-87d9-392517d4a937'} <= ancestors
        protocols = {p for a in ancestors for p in model.protocols.get(a, ())}
        assert protocols == {'73b0c9ae-a5bb-446e-9c7b-d0954e6af425'}


def test_process_list_and_typed_links_give_the_same_graph(fixtures_dir):
    # The DSS form of 1b6d8348 uses 1.1.5 process lists, the TDR form typed links
    raw_dss, dss = load(fixtures_dir, '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9.dss.hca.json')
    raw_tdr, tdr = load(fixtures_dir, '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9.tdr.hca.json')
    assert all('process' in link for link in raw_dss['links']['links'])
    assert all('link_type' in link for link in raw_tdr['links']['links'])
    dss_model, tdr_model = HCABundle(dss), HCABundle(tdr)
    dss_graph, tdr_graph = Graph(dss_model), Graph(tdr_model)
    files = ids_of(raw_dss, 'sequence_file')
    assert len(files) == 12
    for file_id in files:
        assert set(dss_graph.ancestors(file_id)) == set(tdr_graph.ancestors(file_id))
        # Read from the file: the cell suspension is made of a cell line and a specimen
        expected = {'70054038-cb12-429d-bb37-69185ff1deee', 'd6a518a8-0c5d-4cb0-aed5-68f3455c2bda'}
        assert set(dss_graph.ancestor_samples(file_id)) == expected
        assert set(tdr_graph.ancestor_samples(file_id)) == expected
    # Only the TDR form attaches its three supplementary files to the project
    project_id = dss_model.project.document_id
    assert dss_model.links.supplementary == ()
    attached = [f for link in tdr_model.links.supplementary for f in link.files]
    assert {link.entity_id for link in tdr_model.links.supplementary} == {project_id}
    assert set(attached) == ids_of(raw_tdr, 'supplementary_file')
    assert len(attached) == 3


def test_typed_links_with_analysis(fixtures_dir):
    raw, bundle = load(fixtures_dir, 'fce68057-b0f0-5d11-b9a7-30e8fa3259a8.dss.hca.json')
    model = HCABundle(bundle)
    assert len(model.links.processes) == len(raw['links']['links'])
    (matrix,) = [f for f in model.files if not model.is_stitched(f)]
    # The matrix derives from every cell suspension, specimen and donor of the bundle
    graph = Graph(model)
    ancestors = set(graph.ancestors(matrix.document_id))
    for schema_name in ('cell_suspension', 'specimen_from_organism', 'donor_organism'):
        assert ids_of(raw, schema_name) <= ancestors
    assert set(graph.ancestor_samples(matrix.document_id)) == ids_of(raw,
                                                                     'specimen_from_organism')


def test_v5_wrapped_documents(fixtures_dir):
    raw, bundle = load(fixtures_dir, '17a3d288-01a0-464a-9599-7375fda3353d.dss.hca.json')
    model = HCABundle(bundle)
    key = 'donor_organism/9a7acc6d-8352-497e-b162-5e63b380366f'
    donor = model.get(key.partition('/')[2])
    assert donor.content is raw['metadata'][key]['content']
    assert donor.schema_type == 'biomaterial'
    # hca_ingest dates, normalized
    assert donor.submission_date == '2018-03-27T13:10:38.212000Z'
    assert donor.update_date == '2018-03-27T13:10:46.762000Z'
    assert model.project.document_id == '6ec8e247-2eb0-42d1-823f-75facd03988d'
    assert model.project.schema_type == 'project'
    assert len(model.entities) == len(raw['metadata'])


def test_flat_documents(fixtures_dir):
    raw, bundle = load(fixtures_dir, 'ffac201f-4b1c-4455-bd58-19c1a9e863b4.dss.hca.json')
    model = HCABundle(bundle)
    for key, doc in raw['metadata'].items():
        entity = model.get(key.partition('/')[2])
        assert entity.schema_name == key.partition('/')[0]
        assert entity.schema_type == doc['schema_type']
        assert entity.content is doc
    assert {f.document_id for f in model.files} == {k.partition('/')[2]
                                                    for k in raw['manifest']}


def test_stitched(fixtures_dir):
    raw, bundle = load(fixtures_dir, 'fce68057-b0f0-5d11-b9a7-30e8fa3259a8.dss.hca.json')
    model = HCABundle(bundle)
    stitched = set(raw['stitched'])
    own = [f for f in model.files if not model.is_stitched(f)]
    # Read from the file: only the final matrix and its analysis are the bundle's own
    expected = [k.partition('/')[2] for k, e in raw['manifest'].items()
                if e['uuid'] not in stitched and k.partition('/')[2] not in stitched]
    assert [f.document_id for f in own] == expected == ['c18f9014-7086-5216-a73a-e37af51f2bbb']
    for key in raw['metadata']:
        entity = model.get(key.partition('/')[2])
        assert model.is_stitched(entity) == (entity.document_id in stitched)


def test_leaf_cell_suspensions(fixtures_dir):
    # Bundles with a cell_suspension -> cell_suspension link exist among the typed ones
    found = 0
    for path in sorted((fixtures_dir / 'hca' / 'bundles' / 'indexer').glob('*.json')):
        raw, bundle = load(fixtures_dir, path.name)
        model = HCABundle(bundle)
        graph = Graph(model)
        leaves = graph.leaf_cell_suspensions()
        # A cell suspension is a leaf unless a link makes another one from it
        made_from = {i for link in model.links.processes for o in link.outputs
                     if o in ids_of(raw, 'cell_suspension') for i in link.inputs}
        for cs in ids_of(raw, 'cell_suspension'):
            derived = cs in made_from or any(
                d in ids_of(raw, 'cell_suspension') for d in graph.accept(cs)[1:])
            assert (cs in leaves) == (not derived)
            found += derived
    assert found >= 1


def test_missing_linked_entities_are_tolerated(fixtures_dir, caplog):
    raw, bundle = load(fixtures_dir, '17a3d288-01a0-464a-9599-7375fda3353d.dss.hca.json')
    specimen = 'specimen_from_organism/d231b8f3-8fa3-4f3b-a8e5-66eca6228ae7'
    metadata = {k: v for k, v in raw['metadata'].items() if k != specimen}
    with caplog.at_level(logging.WARNING):
        model = HCABundle(Bundle(fqid=bundle.fqid, source='test', manifest=bundle.manifest,
                                 metadata=metadata, links=bundle.links))
    assert 'no metadata document' in caplog.text
    file_id = next(iter(ids_of(raw, 'sequence_file')))
    # The graph still reaches the donor above the missing specimen
    graph = Graph(model)
    assert '9a7acc6d-8352-497e-b162-5e63b380366f' in graph.ancestors(file_id)
    assert graph.ancestor_samples(file_id) == ()


def test_cycles_do_not_recurse_forever(fixtures_dir):
    raw, bundle = load(fixtures_dir, 'ffac201f-4b1c-4455-bd58-19c1a9e863b4.dss.hca.json')
    links = dict(raw['links'])
    first = links['links'][0]
    # A process that consumes its own output
    cyclic = {**first, 'inputs': list(first['inputs']) + list(first['outputs'])}
    links['links'] = [cyclic] + links['links'][1:]
    model = HCABundle(Bundle(fqid=bundle.fqid, source='test', manifest=bundle.manifest,
                             metadata=bundle.metadata, links=links))
    graph = Graph(model)
    for output in first['outputs']:
        assert output not in graph.ancestors(output)
        assert graph.accept(output)[0] == output


def test_bundle_without_project_is_rejected(fixtures_dir):
    raw, bundle = load(fixtures_dir, 'ffac201f-4b1c-4455-bd58-19c1a9e863b4.dss.hca.json')
    metadata = {k: v for k, v in raw['metadata'].items() if not k.startswith('project/')}
    with pytest.raises(RepositoryError, match='0 project'):
        HCABundle(Bundle(fqid=bundle.fqid, source='test', manifest=bundle.manifest,
                         metadata=metadata, links=bundle.links))


def test_malformed_links_are_skipped(caplog):
    links = {'links': [
        'not an object',
        {'unknown': 1},
        {'link_type': 'process_link', 'inputs': []},
        {'process': 'p', 'inputs': ['a'], 'outputs': ['b'], 'protocols': []},
    ]}
    with caplog.at_level(logging.WARNING):
        parsed = parse_links(links)
    assert [p.process_id for p in parsed.processes] == ['p']
    assert caplog.text.count('Skipping') == 3


def test_the_replicas_reuse_the_graph_of_the_transform(fixtures_dir):
    from azul.plugins.metadata.hca.graph import graph_of
    from azul.plugins.metadata.hca.replicas import bundle_replicas
    from azul.plugins.metadata.hca.transform import transform_bundle

    _, bundle = load(fixtures_dir, '17a3d288-01a0-464a-9599-7375fda3353d.dss.hca.json')
    _, other = load(fixtures_dir, '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9.dss.hca.json')
    alone = bundle_replicas(bundle, deleted=False)
    graph = graph_of(bundle)
    # Once, and only for the very same bundle object
    assert graph_of(bundle, reuse=True) is graph
    assert graph_of(bundle, reuse=True) is not graph
    graph = graph_of(bundle)
    assert graph_of(other, reuse=True) is not graph
    assert graph_of(bundle, reuse=True) is not graph
    # The walks the transform made serve the replicas as a fresh graph would
    transform_bundle(bundle, deleted=False)
    assert bundle_replicas(bundle, deleted=False) == alone
    assert len(alone) == len(bundle.metadata) + 1
