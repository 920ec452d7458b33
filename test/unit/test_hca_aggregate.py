"""HCA aggregators with `core.aggregation.aggregate`, on real transformer output."""
import json
import random
from collections import defaultdict
from pathlib import Path

import pytest

from azul.core.aggregation import aggregate
from azul.core.documents import BundleFQID, Contribution
from azul.plugins.metadata.hca.aggregate import aggregators
from azul.plugins.metadata.hca.transform import ENTITY_TYPES, transform_bundle
from azul.plugins.repository.base import Bundle

# The four v5 "1M Immune Cells" bundles of project 6504d48c
IMMUNE = ('2a87dc5c-0c3c-4d91-a348-5d784ab48b92', '4afbb0ea-81ad-49dc-9b12-9f77f4f50be8',
          'b0850e79-5544-49fe-b54d-e29b9fc3f61f', 'c94a43f9-257f-4cd0-b2fe-eaf6d5d37d18')
IMMUNE_PROJECT = '6504d48c-1610-43aa-8cf8-214a960e110c'


def raw_bundle(fixtures_dir: Path, name: str) -> dict:
    return json.loads((fixtures_dir / 'hca' / 'bundles' / 'indexer' / name).read_text())


def contributions(fixtures_dir: Path, name: str, version: str,
                  deleted: bool = False) -> list[Contribution]:
    raw = raw_bundle(fixtures_dir, name)
    bundle = Bundle(fqid=BundleFQID(name[:36], version), source='test',
                    manifest=raw['manifest'], metadata=raw['metadata'], links=raw['links'],
                    stitched=frozenset(raw.get('stitched', ())))
    return transform_bundle(bundle, deleted)


def of_entity(contribs, entity_type: str, entity_id: str) -> list[Contribution]:
    return [c for c in contribs if c.entity_type == entity_type and c.entity_id == entity_id]


@pytest.fixture(scope='module')
def immune(fixtures_dir) -> tuple[list[dict], list[Contribution]]:
    raws, contribs = [], []
    for i, uuid in enumerate(IMMUNE):
        name = f'{uuid}.dss.hca.json'
        raws.append(raw_bundle(fixtures_dir, name))
        contribs += contributions(fixtures_dir, name, f'2018-03-29T10:0{i}:00.000000Z')
    return raws, contribs


def test_project_across_bundles(immune):
    raws, contribs = immune
    project = aggregate('projects', IMMUNE_PROJECT,
                        of_entity(contribs, 'projects', IMMUNE_PROJECT),
                        aggregators('projects'))
    assert project.num_contributions == 4
    assert [b.uuid for b in project.bundles] == sorted(IMMUNE)
    contents = project.contents
    # Distinct donors over the four bundles, from the raw metadata (4 per bundle)
    donors = {k for raw in raws for k in raw['metadata'] if k.startswith('donor_organism/')}
    assert len(donors) == 16
    (donor_summary,) = contents['donors']
    assert donor_summary['donor_count'] == len(donors)
    # Per-format file summary: count and total size from the raw manifests
    entries = {k: e for raw in raws for k, e in raw['manifest'].items()}
    (fastqs,) = contents['files']
    # One group per (content description, format, intermediacy), as in the original
    assert fastqs['file_format'] == 'fastq.gz'
    assert fastqs['count'] == len(entries) == 762
    assert fastqs['size'] == sum(e['size'] for e in entries.values())
    # The project itself is kept whole, description included
    (own,) = contents['projects']
    assert own['document_id'] == IMMUNE_PROJECT and 'project_description' in own
    # Cell counts: every cell suspension once, summed per organ and overall
    suspensions = {k: v['content'] for raw in raws for k, v in raw['metadata'].items()
                   if k.startswith('cell_suspension/')}
    total = sum(cs.get('total_estimated_cells') or 0 for cs in suspensions.values())
    assert sum(g['total_estimated_cells'] or 0 for g in contents['cell_suspensions']) == total
    (counts,) = contents['cell_counts']
    assert counts['total_estimated_cells'] == total
    # No estimated_cell_count in this project's document: the effective count is the sum
    assert counts['estimated_cell_count'] is None
    assert counts['effective_cell_count'] == total
    (dates,) = contents['dates']
    assert dates['aggregate_submission_date'] <= dates['aggregate_update_date']


def test_cell_counts_per_organ(immune):
    raws, contribs = immune
    project = aggregate('projects', IMMUNE_PROJECT,
                        of_entity(contribs, 'projects', IMMUNE_PROJECT),
                        aggregators('projects'))
    # Organ of each specimen from the raw metadata; each cell suspension of these
    # bundles derives from exactly one specimen through a dissociation process
    per_organ = defaultdict(int)
    for raw in raws:
        meta = raw['metadata']
        organ_of = {k.partition('/')[2]: v['content']['organ']['text'] for k, v in meta.items()
                    if k.startswith('specimen_from_organism/')}
        for edge in raw['links']['links']:
            if edge['source_id'] in organ_of and edge['destination_type'] \
                    == 'dissociation_process':
                process = edge['destination_id']
                (cs,) = [e['destination_id'] for e in raw['links']['links']
                         if e['source_id'] == process and e['destination_type']
                         == 'biomaterial']
                cells = meta[f'cell_suspension/{cs}']['content'].get('total_estimated_cells')
                per_organ[organ_of[edge['source_id']]] += cells or 0
    groups = {tuple(g['organ']): g['total_estimated_cells']
              for g in project.contents['cell_suspensions']}
    assert groups == {(organ,): total for organ, total in per_organ.items()}


def test_file_is_kept_whole(immune):
    raws, contribs = immune
    file_contribution = next(c for c in contribs if c.entity_type == 'files')
    agg = aggregate('files', file_contribution.entity_id,
                    of_entity(contribs, 'files', file_contribution.entity_id),
                    aggregators('files'))
    assert agg.contents['files'] == list(file_contribution.contents['files'])
    (donors,) = agg.contents['donors']
    assert donors['donor_count'] == len(file_contribution.contents['donors'])
    assert donors['genus_species'] == ['Homo sapiens']


def test_order_independence_and_redelivery(immune):
    raws, contribs = immune
    rng = random.Random(42)
    for entity_type in ENTITY_TYPES:
        ids = sorted({c.entity_id for c in contribs if c.entity_type == entity_type})
        for entity_id in rng.sample(ids, min(5, len(ids))):
            mine = of_entity(contribs, entity_type, entity_id)
            expected = aggregate(entity_type, entity_id, mine, aggregators(entity_type))
            shuffled = mine * 2
            rng.shuffle(shuffled)
            again = aggregate(entity_type, entity_id, shuffled, aggregators(entity_type))
            assert again.to_json() == expected.to_json()


def test_newest_version_wins(fixtures_dir):
    # Project e8642221 changes its short name between the two versions of aaa96233
    old_name = 'aaa96233-bf27-44c7-82df-b4dc15ad4d9d.2018-11-02T11:33:44.698028Z.dss.hca.json'
    new_name = 'aaa96233-bf27-44c7-82df-b4dc15ad4d9d.2018-11-04T11:33:44.698028Z.dss.hca.json'
    old = contributions(fixtures_dir, old_name, '2018-11-02T11:33:44.698028Z')
    new = contributions(fixtures_dir, new_name, '2018-11-04T11:33:44.698028Z')
    project_id = 'e8642221-4c2c-4fd7-b926-a68bce363c88'
    raw_new = raw_bundle(fixtures_dir, new_name)
    expected = raw_new['metadata'][f'project/{project_id}']['project_core']
    for order in (old + new, new + old):
        agg = aggregate('projects', project_id, of_entity(order, 'projects', project_id),
                        aggregators('projects'))
        (project,) = agg.contents['projects']
        assert project['project_short_name'] == expected['project_short_name']
        assert agg.num_contributions == 1
    raw_old = raw_bundle(fixtures_dir, old_name)
    assert (raw_old['metadata'][f'project/{project_id}']['project_core']['project_short_name']
            != expected['project_short_name'])


def test_deletion(fixtures_dir):
    # Two bundles of project 2c4724a4; deleting one leaves the other's files only
    a = contributions(fixtures_dir, '411cd8d5-5990-43cd-84cc-6c7796b8a76d.dss.hca.json',
                      '2018-10-18T20:46:55.866661Z')
    b = contributions(fixtures_dir, 'dcccb551-4766-4210-966c-f9ee25d19190.dss.hca.json',
                      '2018-10-18T20:46:55.866661Z')
    b_deleted = contributions(fixtures_dir, 'dcccb551-4766-4210-966c-f9ee25d19190.dss.hca.json',
                              '2018-10-18T20:46:55.866661Z', deleted=True)
    project_id = '2c4724a4-7252-409e-b008-ff5c127c7e89'
    both = aggregate('projects', project_id, of_entity(a + b, 'projects', project_id),
                     aggregators('projects'))
    assert both.num_contributions == 2
    after = aggregate('projects', project_id,
                      of_entity(b_deleted + a + b, 'projects', project_id),
                      aggregators('projects'))
    assert after.num_contributions == 1
    assert [x.uuid for x in after.bundles] == ['411cd8d5-5990-43cd-84cc-6c7796b8a76d']
    only_a = aggregate('projects', project_id, of_entity(a, 'projects', project_id),
                       aggregators('projects'))
    assert after.contents == only_a.contents
    # The deleted bundle's own files lose their last contribution
    for c in of_entity(b_deleted, 'bundles', 'dcccb551-4766-4210-966c-f9ee25d19190'):
        assert aggregate('bundles', c.entity_id, [c], aggregators('bundles')) is None


def test_effective_cell_count_prefers_the_project(fixtures_dir):
    contribs = contributions(fixtures_dir, '80baee6e-00a5-4fdc-bfe3-d339ff8a7178.dss.hca.json',
                             '2021-03-12T22:43:32.330000Z')
    project_id = '2d846095-8a33-4f3c-97d4-585bafac13b4'
    raw = raw_bundle(fixtures_dir, '80baee6e-00a5-4fdc-bfe3-d339ff8a7178.dss.hca.json')
    (cs_key,) = [k for k in raw['metadata'] if k.startswith('cell_suspension/')]
    cs_cells = raw['metadata'][cs_key].get('estimated_cell_count')
    estimate = raw['metadata'][f'project/{project_id}']['estimated_cell_count']
    assert estimate == 3589 and cs_cells != estimate
    project = aggregate('projects', project_id, of_entity(contribs, 'projects', project_id),
                        aggregators('projects'))
    (counts,) = project.contents['cell_counts']
    assert counts == {'total_estimated_cells': cs_cells, 'estimated_cell_count': estimate,
                      'effective_cell_count': estimate}
    bundle = aggregate('bundles', '80baee6e-00a5-4fdc-bfe3-d339ff8a7178',
                       of_entity(contribs, 'bundles', '80baee6e-00a5-4fdc-bfe3-d339ff8a7178'),
                       aggregators('bundles'))
    (counts,) = bundle.contents['cell_counts']
    assert counts['effective_cell_count'] == cs_cells
    (projects,) = bundle.contents['projects']
    assert projects['estimated_cell_count'] == estimate
    assert 'contributors' not in projects and 'project_description' not in projects


def test_dates(fixtures_dir):
    contribs = contributions(fixtures_dir, 'ffac201f-4b1c-4455-bd58-19c1a9e863b4.dss.hca.json',
                             '2019-10-09T17:07:35.528600Z')
    later = contributions(fixtures_dir, 'ffac201f-4b1c-4455-bd58-19c1a9e863b4.dss.hca.json',
                          '2019-10-10T00:00:00.000000Z')
    uuid = 'ffac201f-4b1c-4455-bd58-19c1a9e863b4'
    agg = aggregate('bundles', uuid, of_entity(contribs + later, 'bundles', uuid),
                    aggregators('bundles'))
    (dates,) = agg.contents['dates']
    assert dates['update_date'] == '2019-10-10T00:00:00.000000Z'
    raw = raw_bundle(fixtures_dir, 'ffac201f-4b1c-4455-bd58-19c1a9e863b4.dss.hca.json')
    submitted = [d['provenance']['submission_date'] for d in raw['metadata'].values()]
    (aggregate_dates,) = agg.contents['dates']
    assert aggregate_dates['aggregate_submission_date'][:19] == min(submitted)[:19]


def test_every_inner_type_has_an_aggregator(immune):
    _, contribs = immune
    for entity_type in ENTITY_TYPES:
        inner_types = {t for c in contribs if c.entity_type == entity_type for t in c.contents}
        assert inner_types <= set(aggregators(entity_type)), entity_type


def test_bundle_keeps_its_files_whole(fixtures_dir):
    name = '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9.tdr.hca.json'
    contribs = contributions(fixtures_dir, name, '2019-09-24T09:35:06.958773Z')
    uuid = name[:36]
    agg = aggregate('bundles', uuid, of_entity(contribs, 'bundles', uuid),
                    aggregators('bundles'))
    raw = raw_bundle(fixtures_dir, name)
    assert sorted(f['uuid'] for f in agg.contents['files']) == sorted(
        e['uuid'] for e in raw['manifest'].values())
    assert all('drs_uri' in f and 'name' in f for f in agg.contents['files'])


def _contribution(bundle_uuid: str, version: str, donors: list[dict]) -> Contribution:
    return Contribution(entity_type='files', entity_id='f', bundle=BundleFQID(bundle_uuid, version),
                        source='test', deleted=False, contents={'donors': donors})


def test_folded_values_are_capped_at_100():
    # The original's SetAccumulator(max_size=100): the first 100 distinct values
    # are kept, sorted; later ones are dropped
    donors = [{'document_id': f'd{i:03}', 'development_stage': f'stage {i:03}'}
              for i in range(150)]
    agg = aggregate('files', 'f', [_contribution('b' * 8, '2020-01-01T00:00:00.000000Z', donors)],
                    aggregators('files'))
    (folded,) = agg.contents['donors']
    assert folded['development_stage'] == [f'stage {i:03}' for i in range(100)]
    # donor_count is not a set of values but a count of distinct donors
    assert folded['donor_count'] == 1  # no biomaterial_id: one distinct null


def test_donor_count_is_not_capped():
    # The original's UniqueValueCountAccumulator counts into an uncapped set
    donors = [{'document_id': f'd{i:03}', 'biomaterial_id': f'donor {i:03}'}
              for i in range(150)]
    agg = aggregate('files', 'f', [_contribution('b' * 8, '2020-01-01T00:00:00.000000Z', donors)],
                    aggregators('files'))
    (folded,) = agg.contents['donors']
    assert folded['donor_count'] == 150
    assert len(folded['biomaterial_id']) == 100


def test_copies_of_an_inner_entity():
    # Of two copies of donor d1, the one of the newer bundle version wins; at
    # equal versions the first contribution seen (contributions go in bundle
    # order) is kept, as the original's reconcile_inner_entities does
    old = _contribution('a' * 8, '2020-01-01T00:00:00.000000Z',
                        [{'document_id': 'd1', 'biological_sex': 'female'}])
    new = _contribution('b' * 8, '2021-01-01T00:00:00.000000Z',
                        [{'document_id': 'd1', 'biological_sex': 'male'}])
    for contributions in ([old, new], [new, old]):
        agg = aggregate('files', 'f', contributions, aggregators('files'))
        assert agg.contents['donors'][0]['biological_sex'] == ['male']
    first = _contribution('a' * 8, '2020-01-01T00:00:00.000000Z',
                          [{'document_id': 'd1', 'biological_sex': 'female'}])
    second = _contribution('b' * 8, '2020-01-01T00:00:00.000000Z',
                           [{'document_id': 'd1', 'biological_sex': 'male'}])
    agg = aggregate('files', 'f', [second, first], aggregators('files'))
    assert agg.contents['donors'][0]['biological_sex'] == ['female']
