"""
The AnVIL metadata plugin over the three AnVIL fixture bundles
(`shared/fixtures/anvil/*.tdr.anvil.json`: primary, supplementary, DUOS).

The bundles are built here as a repository plugin hands them to the plugin:
`metadata` is the file's `entities`, `links` is `{"links": [...]}`,
`manifest` is empty; read in place, never copied into the repository. The
other `test_anvil_*` modules import these helpers.

This module checks the transformers (which entities each kind of bundle
contributes), the field registry against the original's, and the plugin's
settings; `test_anvil_shape` the hits, facets and summaries.
"""
import json
import sys
from collections import defaultdict
from typing import Any

from azul.core.aggregation import aggregate
from azul.core.documents import Aggregate, BundleFQID, Contribution
from azul.plugins.metadata.anvil import AnvilPlugin
from azul.plugins.metadata.base import HitContext
from azul.plugins.repository.base import Bundle
from azul_testing import FIXTURES as SHARED_FIXTURES

FIXTURES = SHARED_FIXTURES / 'anvil'

# The original's test source: snapshot `anvil_snapshot`, every bundle (`/0`)
SOURCE = 'tdr:bigquery:gcp:test_anvil_project:anvil_snapshot:/0'
VERSION = '2022-06-01T00:00:00.000000Z'

PRIMARY = '826dea02-e274-affe-aabc-eb3db63ad068'
SUPPLEMENTARY = '6b0f6c0f-5d80-a242-accb-840921351cd5'
DUOS = '2370f948-2783-aeb6-afea-e022897f4dcf'
ALL = (PRIMARY, SUPPLEMENTARY, DUOS)

CONTEXT = HitContext(catalog='anvil', service_url='http://localhost:8000',
                     readable=frozenset({SOURCE}))


def fixture_bundle(uuid: str, source: str = SOURCE) -> Bundle:
    document = json.loads((FIXTURES / f'{uuid}.tdr.anvil.json').read_text())
    versions = {row['version'] for row in document['entities'].values()}
    # Every AnVIL bundle has the one version of its snapshot's rows
    (version,) = versions
    return Bundle(fqid=BundleFQID(uuid, version), source=source, manifest={},
                  metadata=document['entities'], links={'links': document['links']},
                  kind='tdr')


def contributions(uuids: tuple[str, ...] = ALL) -> list[Contribution]:
    plugin = AnvilPlugin()
    return [c for uuid in uuids for c in plugin.transform(fixture_bundle(uuid), deleted=False)]


def aggregates(uuids: tuple[str, ...] = ALL) -> dict[str, list[Aggregate]]:
    """The aggregates of the bundles' entities by entity type, in entity id order."""
    plugin = AnvilPlugin()
    grouped: dict[tuple[str, str], list[Contribution]] = defaultdict(list)
    for c in contributions(uuids):
        grouped[c.entity_type, c.entity_id].append(c)
    result: dict[str, list[Aggregate]] = defaultdict(list)
    for (entity_type, entity_id), cs in sorted(grouped.items()):
        agg = aggregate(entity_type, entity_id, cs, plugin.aggregators(entity_type))
        if agg is not None:
            result[entity_type].append(agg)
    return result


def hits(uuids: tuple[str, ...] = ALL) -> dict[str, list[dict[str, Any]]]:
    plugin = AnvilPlugin()
    return {
        entity_type: [plugin.shape_hit(entity_type, a.to_json(), CONTEXT) for a in aggs]
        for entity_type, aggs in aggregates(uuids).items()
    }


def _entities(uuid: str, deleted: bool = False) -> list[tuple[str, str]]:
    plugin = AnvilPlugin()
    return sorted((c.entity_type, c.entity_id)
                  for c in plugin.transform(fixture_bundle(uuid), deleted=deleted))


def test_primary_bundle_contributes_each_entity():
    # The fixture's rows: two sequencing activities, one biosample, one donor
    # (with two diagnoses, which are no outer entities), two files, the dataset
    assert _entities(PRIMARY) == [
        ('activities', '1509ef40-d1ba-440d-b298-16b7c173dcd4'),
        ('activities', '816e364e-1193-4e5b-a91a-14e4b009157c'),
        ('biosamples', '826dea02-e274-4ffe-aabc-eb3db63ad068'),
        ('bundles', PRIMARY),
        ('datasets', '2370f948-2783-4eb6-afea-e022897f4dcf'),
        ('donors', 'bfd991f2-2797-4083-972a-da7c6d7f1b2e'),
        ('files', '15b76f9c-6b46-433f-851d-34e89f1b9ba6'),
        ('files', '3b17377b-16b1-431c-9967-e5d01fc5923f'),
    ]


def test_supplementary_and_duos_bundles():
    assert _entities(SUPPLEMENTARY) == [
        ('bundles', SUPPLEMENTARY),
        ('datasets', '2370f948-2783-4eb6-afea-e022897f4dcf'),
        ('files', '6b0f6c0f-5d80-4242-accb-840921351cd5'),
    ]
    assert _entities(DUOS) == [
        ('bundles', DUOS),
        ('datasets', '2370f948-2783-4eb6-afea-e022897f4dcf'),
    ]


def test_deletion_names_the_same_entities_without_contents():
    plugin = AnvilPlugin()
    deleted = list(plugin.transform(fixture_bundle(PRIMARY), deleted=True))
    assert sorted((c.entity_type, c.entity_id) for c in deleted) == _entities(PRIMARY)
    assert all(c.deleted and c.contents == {} for c in deleted)


def test_activity_sees_its_file_and_ancestors_only():
    # An activity reaches its biosample (and through it the donor and the
    # diagnoses) upwards and the one file it generated downwards, not the
    # sibling activity's file, as the original's link traversal
    by_id = {c.entity_id: c for c in contributions((PRIMARY,))}
    contents = by_id['1509ef40-d1ba-440d-b298-16b7c173dcd4'].contents
    assert [f['document_id'] for f in contents['files']] == [
        '15b76f9c-6b46-433f-851d-34e89f1b9ba6']
    assert [d['document_id'] for d in contents['diagnoses']] == [
        '15d85d30-ad4a-4f50-87a8-a27f59dd1b5f', '939a4bd3-86ed-4a8a-81f4-fbe0ee673461']
    assert len(contents['biosamples']) == len(contents['donors']) == 1


def test_duos_stub_merges_into_the_dataset_and_leaves_with_its_bundle():
    def dataset_hit(uuids):
        (hit,) = hits(uuids)['datasets']
        (dataset,) = hit['datasets']
        return dataset

    assert dataset_hit(ALL)['description'] == 'Study description from DUOS'
    # Unknown, both are null, as the original's (`test_anvil.py::test_absent_duos_id`)
    without = dataset_hit((PRIMARY, SUPPLEMENTARY))
    assert without['description'] is None and without['duos_id'] is None
    # Indexed alone, the dataset shows what DUOS says of it
    assert dataset_hit((DUOS,)) == {'document_id': '2370f948-2783-4eb6-afea-e022897f4dcf',
                                    'description': 'Study description from DUOS',
                                    'duos_id': None,
                                    'accessible': True}


def test_file_digest_in_hex():
    # TDR's base64 `file_md5sum` is shown in hex, as in the original's hits
    by_id = {c.entity_id: c for c in contributions((PRIMARY,))}
    (file,) = by_id['15b76f9c-6b46-433f-851d-34e89f1b9ba6'].contents['files']
    assert file['file_md5sum'] == 'beec606ee0aa299fdf913f4259316622'


# The original's `facets` (after its inherited `accessible`) and default sorts
ORIGINAL_FACETS = {
    'accessible',
    'activities.activity_type', 'activities.assay_type', 'activities.data_modality',
    'biosamples.anatomical_site', 'biosamples.biosample_type', 'biosamples.disease',
    'diagnoses.disease', 'diagnoses.phenotype', 'diagnoses.phenopacket',
    'datasets.consent_group', 'datasets.data_use_permission',
    'datasets.registered_identifier', 'datasets.title',
    'donors.organism_type', 'donors.phenotypic_sex', 'donors.reported_ethnicity',
    'files.data_modality', 'files.file_format', 'files.reference_assembly',
    'files.is_supplementary',
}


def test_registry_as_the_original():
    plugin = AnvilPlugin()
    registry = plugin.field_registry
    assert {f.name for f in registry.facets} == ORIGINAL_FACETS
    assert plugin.exposed_entity_types == ('activities', 'biosamples', 'bundles', 'datasets',
                                           'donors', 'files')
    assert {t: plugin.default_sort(t) for t in plugin.exposed_entity_types} == {
        'activities': ('activities.activity_id', 'asc'),
        'biosamples': ('biosamples.biosample_id', 'asc'),
        'bundles': ('bundle_uuid', 'asc'),
        'datasets': ('datasets.dataset_id', 'asc'),
        'donors': ('donors.donor_id', 'asc'),
        'files': ('files.file_id', 'asc'),
    }
    # What the service's access control needs
    assert plugin.open_entity_types == ('datasets',)
    assert not registry['source_id'].nullable and not registry['accessible'].sortable
    # HCA's names of the sources fields are not the original's AnVIL ones
    for name in ('sourceId', 'sourceSpec', 'fileId'):
        assert name not in registry
    # Files are looked up by the original's `special_fields.file_uuid`
    assert plugin.file_id_field == 'files.document_id'
    for name in ('entryId', 'source_id', 'source_spec', 'bundle_uuid', 'bundle_version',
                 'fileVersion', 'files.drs_uri', 'datasets.duos_id',
                 'diagnoses.diagnosis_age', 'biosamples.donor_age_at_collection'):
        assert name in registry


def test_projection_of_open_ranges():
    # A null bound is unbounded, as in the original's OpenSearch range fields:
    # the most negative or the largest finite double (no infinity in JSON); a
    # range without bounds is all numbers, still a value
    field = AnvilPlugin().field_registry['diagnoses.onset_age']
    top = sys.float_info.max
    assert field.normalize({'gte': None, 'lte': None}) == (-top, top)
    assert field.normalize({'gte': 5, 'lte': None}) == (5.0, top)
    assert field.normalize({'gte': None, 'lte': 7}) == (-top, 7.0)
    (agg,) = aggregates((PRIMARY,))['donors']
    projection = AnvilPlugin().field_registry.extract(agg.to_json())
    assert projection['diagnoses.onset_age'] == ((-top, top),)
    assert projection['files.file_size'] == (213021639, 3306845592)


def test_own_type_holds_the_entity_only():
    # The primary bundle with an alignment activity made from the VCF, making
    # another file: the activities, files ... of an entity's own type are the
    # entity alone, those of other types all it is linked to, as the original
    bundle = fixture_bundle(PRIMARY)
    vcf = 'anvil_file/15b76f9c-6b46-433f-851d-34e89f1b9ba6'
    made = 'anvil_file/00000000-0000-4000-8000-000000000001'
    alignment = 'anvil_alignmentactivity/00000000-0000-4000-8000-000000000002'
    metadata = {
        **bundle.metadata,
        made: {**bundle.metadata[vcf], 'file_format': '.cram', 'file_id': 'made'},
        alignment: {'activity_type': 'Alignment', 'alignmentactivity_id': 'aligned',
                    'data_modality': [], 'reference_assembly': ['GRCh38'],
                    'source_datarepo_row_ids': [], 'version': VERSION},
    }
    links = [*bundle.links['links'],
             {'inputs': [vcf], 'activity': alignment, 'outputs': [made]}]
    bundle = Bundle(fqid=bundle.fqid, source=bundle.source, manifest={}, metadata=metadata,
                    links={'links': links}, kind='tdr')
    by_id = {c.entity_id: c.contents for c in AnvilPlugin().transform(bundle, deleted=False)}

    def ids(contents, inner_type):
        return [e['document_id'] for e in contents[inner_type]]

    aligned = by_id['00000000-0000-4000-8000-000000000002']
    assert ids(aligned, 'activities') == ['00000000-0000-4000-8000-000000000002']
    assert ids(aligned, 'files') == ['00000000-0000-4000-8000-000000000001',
                                     '15b76f9c-6b46-433f-851d-34e89f1b9ba6']
    (activity,) = aligned['activities']
    # The columns an alignment has not are null, its id is its table's
    assert activity['activity_id'] == 'aligned'
    assert activity['activity_table'] == 'anvil_alignmentactivity'
    assert activity['assay_type'] == [None] and activity['reference_assembly'] == ['GRCh38']
    made_file = by_id['00000000-0000-4000-8000-000000000001']
    assert ids(made_file, 'files') == ['00000000-0000-4000-8000-000000000001']
    assert ids(made_file, 'activities') == ['00000000-0000-4000-8000-000000000002',
                                            '1509ef40-d1ba-440d-b298-16b7c173dcd4']
    vcf_file = by_id['15b76f9c-6b46-433f-851d-34e89f1b9ba6']
    assert ids(vcf_file, 'files') == ['15b76f9c-6b46-433f-851d-34e89f1b9ba6']
    assert len(vcf_file['activities']) == 2
    # The sequencing activity reaches the alignment's file through its own
    sequencing = by_id['1509ef40-d1ba-440d-b298-16b7c173dcd4']
    assert ids(sequencing, 'activities') == ['1509ef40-d1ba-440d-b298-16b7c173dcd4']
    assert len(sequencing['files']) == 2


def test_list_fields_sorted():
    # The original sorts every list value of an entity (`json_sorted` in its
    # `BaseTransformer._entity`): the biosample's `apriori_cell_type`
    # `['foo', 'bar']` is `['bar', 'foo']` in its own hit, nulls last
    bundle = fixture_bundle(PRIMARY)
    metadata = {
        key: ({**row, 'apriori_cell_type': ['foo', None, 'bar']}
              if key.startswith('anvil_biosample/') else row)
        for key, row in bundle.metadata.items()
    }
    bundle = Bundle(fqid=bundle.fqid, source=bundle.source, manifest={}, metadata=metadata,
                    links=bundle.links, kind='tdr')
    plugin = AnvilPlugin()
    (contribution,) = [c for c in plugin.transform(bundle, deleted=False)
                       if c.entity_type == 'biosamples']
    agg = aggregate('biosamples', contribution.entity_id, [contribution],
                    plugin.aggregators('biosamples'))
    (hit_biosample,) = plugin.shape_hit('biosamples', agg.to_json(), CONTEXT)['biosamples']
    assert hit_biosample['apriori_cell_type'] == ['bar', 'foo', None]


def _with_dataset(bundle: Bundle, **fields) -> Bundle:
    metadata = {key: ({**row, **fields} if key.startswith('anvil_dataset/') else row)
                for key, row in bundle.metadata.items()}
    return Bundle(fqid=bundle.fqid, source=bundle.source, manifest={}, metadata=metadata,
                  links=bundle.links, kind='tdr')


def _bundle_hits(bundle: Bundle) -> dict[str, list[dict[str, Any]]]:
    plugin = AnvilPlugin()
    result = defaultdict(list)
    for c in sorted(plugin.transform(bundle, deleted=False),
                    key=lambda c: (c.entity_type, c.entity_id)):
        agg = aggregate(c.entity_type, c.entity_id, [c], plugin.aggregators(c.entity_type))
        result[c.entity_type].append(plugin.shape_hit(c.entity_type, agg.to_json(), CONTEXT))
    return result


def test_dataset_description():
    # The original's current bundles carry `description` and `duos_id` on the
    # full dataset row (`test_anvil.py::test_dataset_description`): no DUOS
    # stub, the dataset keeps its other fields and the datasets hit shows both
    bundle = _with_dataset(fixture_bundle(PRIMARY), description='Study description from DUOS',
                           duos_id='DUOS-000002')
    by_type = _bundle_hits(bundle)
    (hit,) = by_type['datasets']
    (dataset,) = hit['datasets']
    assert dataset['title'] == 'ANVIL_CMG_UWASH_DS_BDIS'
    assert dataset['consent_group'] == ['DS-BDIS']
    assert dataset['description'] == 'Study description from DUOS'
    assert dataset['duos_id'] == 'DUOS-000002'
    # Other hits fold the dataset as always
    (file_hit, _) = by_type['files']
    (folded,) = file_hit['datasets']
    assert folded['title'] == ['ANVIL_CMG_UWASH_DS_BDIS']


def _by_type(bundle: Bundle) -> dict[str, Any]:
    return {c.entity_type: c.contents for c in AnvilPlugin().transform(bundle, deleted=False)
            if c.entity_type in ('datasets', 'bundles')}


def _duos_ids(contents: dict[str, Any]) -> list:
    # What the `datasets.duos_id` field reads of a document
    path = AnvilPlugin().field_registry['datasets.duos_id'].path
    assert path == 'contents.duos.duos_id'
    return [d['duos_id'] for d in contents.get('duos', ()) if 'duos_id' in d]


def test_duos_id_only_in_the_datasets_index():
    # As the original's `_detailed_dataset_types`: a full dataset row's DUOS
    # id is found (and shown) in the datasets index, not in the bundles index
    bundle = _with_dataset(fixture_bundle(PRIMARY), description='From DUOS',
                           duos_id='DUOS-000002')
    contents = _by_type(bundle)
    assert _duos_ids(contents['datasets']) == ['DUOS-000002']
    assert _duos_ids(contents['bundles']) == []
    (folded,) = contents['bundles']['datasets']
    assert 'duos_id' not in folded
    by_type = _bundle_hits(bundle)
    (bundle_hit,) = by_type['bundles']
    assert all('duos_id' not in d for d in bundle_hit['datasets'])
    # A DUOS bundle's stub alike
    duos = fixture_bundle(DUOS)
    stub = _with_dataset(duos, duos_id='DUOS-000003')
    contents = _by_type(stub)
    assert _duos_ids(contents['datasets']) == ['DUOS-000003']
    assert _duos_ids(contents['bundles']) == []
    (bundle_hit,) = _bundle_hits(stub)['bundles']
    assert all('duos_id' not in d for d in bundle_hit['datasets'])
    (dataset_hit,) = _bundle_hits(stub)['datasets']
    assert dataset_hit['datasets'][0]['duos_id'] == 'DUOS-000003'


def test_files_hits_have_mirror_uri():
    # The original always shows `azul_mirror_uri` of a files hit's file,
    # null without mirroring
    for hit in hits(ALL)['files']:
        (file,) = hit['files']
        assert 'azul_mirror_uri' in file and file['azul_mirror_uri'] is None


def test_md5_already_hex_kept():
    # A 32-character hex digest is valid base64 too: only the base64 of 16
    # bytes is decoded
    from azul.plugins.metadata.anvil.indexer import _md5_hex
    assert _md5_hex('vuxgbuCqKZ/fkT9CWTFmIg==') == 'beec606ee0aa299fdf913f4259316622'
    assert _md5_hex('beec606ee0aa299fdf913f4259316622') == 'beec606ee0aa299fdf913f4259316622'
    assert _md5_hex('') == '' and _md5_hex(None) is None
    assert _md5_hex('not base64 at all!!!!!==') == 'not base64 at all!!!!!=='
