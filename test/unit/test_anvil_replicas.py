"""
The replicas of AnVIL bundles and their hubs (`anvil.replicas`), against what
the original's AnVIL transformers give the fixture's primary bundle (its
`826dea02-e274-affe-aabc-eb3db63ad068.results.json`, the `replica` index's
`hub_ids`, transcribed below), and against small bundles made up to show
each rule on its own.
"""
import copy
import json

import pytest

from azul.plugins.metadata.anvil import AnvilPlugin
from azul.plugins.metadata.anvil.replicas import bundle_replicas, orphans, replica_hubs
from azul.plugins.repository.canned import anvil as canned_anvil
from azul_testing import FIXTURES

PRIMARY = '826dea02-e274-affe-aabc-eb3db63ad068'
SUPPLEMENTARY = '6b0f6c0f-5d80-a242-accb-840921351cd5'
DUOS = '2370f948-2783-aeb6-afea-e022897f4dcf'

DATASET = '2370f948-2783-4eb6-afea-e022897f4dcf'
VCF = '15b76f9c-6b46-433f-851d-34e89f1b9ba6'
BAM = '3b17377b-16b1-431c-9967-e5d01fc5923f'
SUPPLEMENTARY_FILE = '6b0f6c0f-5d80-4242-accb-840921351cd5'


def document(uuid: str) -> dict:
    return json.loads((FIXTURES / 'anvil' / f'{uuid}.tdr.anvil.json').read_text())


def bundle(uuid: str, doc: dict | None = None):
    fqid = canned_anvil.fqid_of(f'{uuid}.tdr.anvil.json')
    return canned_anvil.bundle(fqid, 'source-1', document(uuid) if doc is None else doc)


def hubs_by_entity(b) -> dict[str, list[str]]:
    return {r.replica_type + '/' + r.entity_id: list(r.hub_ids)
            for r in bundle_replicas(b, deleted=False)}


def test_primary_bundle_as_the_original():
    # The original's hub ids of the same bundle's replicas
    assert hubs_by_entity(bundle(PRIMARY)) == {
        'anvil_sequencingactivity/1509ef40-d1ba-440d-b298-16b7c173dcd4': [VCF, DATASET],
        f'anvil_file/{VCF}': [VCF, DATASET],
        'anvil_diagnosis/15d85d30-ad4a-4f50-87a8-a27f59dd1b5f': [VCF, DATASET, BAM],
        f'anvil_dataset/{DATASET}': [DATASET],
        f'anvil_file/{BAM}': [DATASET, BAM],
        # Not in the stored part of the original's results, by the same
        # rules: the other activity reaches its own file only, the
        # biosample, donor and other diagnosis reach both
        'anvil_sequencingactivity/816e364e-1193-4e5b-a91a-14e4b009157c': [DATASET, BAM],
        'anvil_biosample/826dea02-e274-4ffe-aabc-eb3db63ad068': [VCF, DATASET, BAM],
        'anvil_diagnosis/939a4bd3-86ed-4a8a-81f4-fbe0ee673461': [VCF, DATASET, BAM],
        'anvil_donor/bfd991f2-2797-4083-972a-da7c6d7f1b2e': [VCF, DATASET, BAM],
    }


def test_replicas_are_the_rows_verbatim():
    doc = document(PRIMARY)
    replicas = bundle_replicas(bundle(PRIMARY, copy.deepcopy(doc)), deleted=False)
    assert len(replicas) == len(doc['entities'])
    for replica in replicas:
        key = f'{replica.replica_type}/{replica.entity_id}'
        # The very row, its keys in the bundle's order
        assert list(replica.contents.items()) == list(doc['entities'][key].items())
        assert replica.source == 'source-1'


def test_supplementary_and_duos_bundles():
    assert hubs_by_entity(bundle(SUPPLEMENTARY)) == {
        f'anvil_dataset/{DATASET}': [DATASET],
        f'anvil_file/{SUPPLEMENTARY_FILE}': [DATASET, SUPPLEMENTARY_FILE],
    }
    (replica,) = bundle_replicas(bundle(DUOS), deleted=False)
    assert replica.replica_type == 'anvil_dataset' and replica.entity_id == DATASET
    assert replica.hub_ids == (DATASET,)
    assert replica.contents == {'description': 'Study description from DUOS',
                                'version': '2022-06-01T00:00:00.000000Z'}
    # Another document than the primary bundle's dataset row: another replica
    full = next(r for r in bundle_replicas(bundle(PRIMARY), deleted=False)
                if r.replica_type == 'anvil_dataset')
    assert full.id != replica.id


def test_deletion_writes_nothing():
    assert bundle_replicas(bundle(PRIMARY), deleted=True) == []
    assert list(AnvilPlugin().replicas(bundle(PRIMARY), deleted=True)) == []


def _with(doc: dict, entities: dict, links: list) -> dict:
    doc = copy.deepcopy(doc)
    doc['entities'].update(entities)
    doc['links'].extend(links)
    return doc


DONOR2 = 'anvil_donor/00000000-0000-4000-8000-00000000d002'
BIOSAMPLE2 = 'anvil_biosample/00000000-0000-4000-8000-00000000b002'
ACTIVITY2 = 'anvil_assayactivity/00000000-0000-4000-8000-00000000a002'
FILE2 = 'anvil_file/00000000-0000-4000-8000-00000000f002'


def test_rows_no_file_reaches_are_orphans():
    # A second donor and biosample of the dataset, with no activity: no
    # file reaches them, and they list the dataset only
    doc = _with(document(PRIMARY),
                {DONOR2: {'datarepo_row_id': DONOR2.partition('/')[2]},
                 BIOSAMPLE2: {'datarepo_row_id': BIOSAMPLE2.partition('/')[2]}},
                [{'inputs': [DONOR2], 'activity': None, 'outputs': [BIOSAMPLE2]}])
    hubs = replica_hubs(bundle(PRIMARY, doc))
    assert hubs[DONOR2] == hubs[BIOSAMPLE2] == (DATASET,)
    assert sorted(orphans(bundle(PRIMARY, doc))) == [BIOSAMPLE2, DONOR2]
    assert orphans(bundle(PRIMARY)) == []


def test_an_activity_reaches_its_own_link_only():
    # A file made from the BAM by another activity: the new activity and its
    # file reach both files of their chain, not the VCF (a sibling); the
    # BAM now reaches the new file too, the VCF does not
    doc = _with(document(PRIMARY),
                {ACTIVITY2: {'datarepo_row_id': ACTIVITY2.partition('/')[2]},
                 FILE2: {'datarepo_row_id': FILE2.partition('/')[2]}},
                [{'inputs': [f'anvil_file/{BAM}'], 'activity': ACTIVITY2, 'outputs': [FILE2]}])
    hubs = replica_hubs(bundle(PRIMARY, doc))
    file2 = FILE2.partition('/')[2]
    assert hubs[ACTIVITY2] == tuple(sorted([DATASET, BAM, file2]))
    assert hubs[FILE2] == tuple(sorted([DATASET, BAM, file2]))
    assert hubs[f'anvil_file/{BAM}'] == tuple(sorted([DATASET, BAM, file2]))
    assert hubs[f'anvil_file/{VCF}'] == tuple(sorted([DATASET, VCF]))
    # Upstream of both: the biosample reaches all three
    assert hubs['anvil_biosample/826dea02-e274-4ffe-aabc-eb3db63ad068'] == \
        tuple(sorted([DATASET, VCF, BAM, file2]))


def test_a_bundle_without_its_dataset_is_refused():
    doc = document(PRIMARY)
    del doc['entities'][f'anvil_dataset/{DATASET}']
    with pytest.raises(ValueError):
        bundle_replicas(bundle(PRIMARY, doc), deleted=False)


def test_plugin_offers_the_verbatim_manifests():
    plugin = AnvilPlugin()
    assert plugin.manifest_formats == ('compact', 'terra.pfb', 'verbatim.jsonl', 'verbatim.pfb')
    join = plugin.replica_join
    assert join.root_entity_type == 'datasets'
    assert join.hot_inner_entity_types == ('datasets',)
    assert set(join.source_fields) == {'source_id', 'source_spec'}
    for name in join.source_fields:
        assert name in plugin.field_registry
