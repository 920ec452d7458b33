"""HCA transformers on the real fixture bundles."""
import json
import logging
from collections import Counter
from pathlib import Path

import pytest

from azul.core.documents import BundleFQID
from azul.plugins.metadata.hca.transform import (
    ENTITY_TYPES,
    transform_bundle,
)
from azul.plugins.repository.base import Bundle

VERSION = '2021-01-01T00:00:00.000000Z'
# The original's inner entity types (its transformers' `field_types`), plus
# our `cell_counts` helper; `matrices` and `contributed_analyses` only in
# projects and bundles
INNER_ENTITY_TYPES = (
    'samples', 'sequencing_inputs', 'specimens', 'cell_suspensions', 'cell_lines', 'donors',
    'organoids', 'files', 'analysis_protocols', 'imaging_protocols',
    'library_preparation_protocols', 'sequencing_protocols', 'sequencing_processes', 'dates',
    'projects', 'cell_counts',
)
YEAR = 365 * 24 * 3600


def indexer_files(fixtures_dir: Path) -> list[Path]:
    return sorted((fixtures_dir / 'hca' / 'bundles' / 'indexer').glob('*.dss.hca.json'))


def make_bundle(raw: dict, uuid: str, version: str = VERSION) -> Bundle:
    return Bundle(fqid=BundleFQID(uuid, version), source='test', manifest=raw['manifest'],
                  metadata=raw['metadata'], links=raw['links'],
                  stitched=frozenset(raw.get('stitched', ())))


def load(fixtures_dir: Path, name: str) -> tuple[dict, Bundle]:
    raw = json.loads((fixtures_dir / 'hca' / 'bundles' / 'indexer' / name).read_text())
    return raw, make_bundle(raw, name[:36])


def by_type(contributions) -> dict[str, list]:
    result = {}
    for c in contributions:
        result.setdefault(c.entity_type, []).append(c)
    return result


def ids_of(raw: dict, schema_name: str) -> set[str]:
    return {k.partition('/')[2] for k in raw['metadata'] if k.startswith(schema_name + '/')}


def content(raw: dict, key: str) -> dict:
    doc = raw['metadata'][key]
    return doc.get('content', doc) if 'hca_ingest' in doc else doc


@pytest.fixture(scope='module')
def all_bundles(fixtures_dir) -> list[tuple[dict, Bundle]]:
    return [(json.loads(p.read_text()), make_bundle(json.loads(p.read_text()), p.name[:36]))
            for p in indexer_files(fixtures_dir)]


def test_outer_entities_of_every_bundle(all_bundles):
    assert len(all_bundles) == 50
    for raw, bundle in all_bundles:
        contributions = by_type(transform_bundle(bundle, deleted=False))
        stitched = set(raw.get('stitched', ()))
        # Of a zarr store (names with `!` for `/`) only the `.zattrs` members
        # are files of their own, as in the original
        own_files = {k.partition('/')[2] for k, e in raw['manifest'].items()
                     if k.partition('/')[2] not in stitched and e['uuid'] not in stitched
                     and ('.zarr!' not in e['name'] or e['name'].endswith('.zattrs'))}
        assert {c.entity_id for c in contributions.get('files', [])} == own_files
        (project,) = contributions['projects']
        assert {project.entity_id} == ids_of(raw, 'project')
        (bundle_contribution,) = contributions['bundles']
        assert bundle_contribution.entity_id == bundle.fqid.uuid
        own_cs = ids_of(raw, 'cell_suspension') - stitched
        assert own_cs <= {c.entity_id for c in contributions.get('cell_suspensions', [])}
        samples = {c.entity_id for c in contributions.get('samples', [])}
        sample_types = ('specimen_from_organism', 'cell_line', 'organoid')
        assert samples <= set().union(*(ids_of(raw, t) for t in sample_types))
        for c in transform_bundle(bundle, deleted=False):
            # The inner entity types of the original; sample kinds only where present
            kinds = {'sample_specimens', 'sample_cell_lines', 'sample_organoids'}
            if c.entity_type in ('projects', 'bundles'):
                kinds |= {'matrices', 'contributed_analyses'}
            assert set(c.contents) - kinds == set(INNER_ENTITY_TYPES), c.entity_type
            assert c.entity_type in ENTITY_TYPES and not c.deleted
            assert c.bundle == bundle.fqid and c.source == 'test'


def test_file_contribution_v5(fixtures_dir):
    raw, bundle = load(fixtures_dir, '17a3d288-01a0-464a-9599-7375fda3353d.dss.hca.json')
    files = by_type(transform_bundle(bundle, deleted=False))['files']
    assert len(files) == len(raw['manifest']) == 12
    for c in files:
        (entry,) = [e for k, e in raw['manifest'].items() if k.endswith(c.entity_id)]
        (file,) = c.contents['files']
        assert file['uuid'] == entry['uuid'] and file['name'] == entry['name']
        assert file['size'] == entry['size'] and file['sha256'] == entry['sha256']
        assert file['file_format'] == 'fastq.gz' and file['file_type'] == 'sequence_file'
        # Read from the file: specimen d231b8f3 is spleen, donor 9a7acc6d a 55-60 year
        # old male Homo sapiens, cell suspension a86b1fda has 39300000 cells
        (sample,) = c.contents['samples']
        assert sample['effective_organ'] == 'spleen'
        assert sample['entity_type'] == 'specimens'
        (donor,) = c.contents['donors']
        assert donor['genus_species'] == ['Homo sapiens']
        assert donor['biological_sex'] == 'male'
        assert donor['organism_age'] == {'value': '55-60', 'unit': 'year'}
        assert donor['organism_age_range'] == {'gte': 55 * YEAR, 'lte': 60 * YEAR}
        (cs,) = c.contents['cell_suspensions']
        assert cs['total_estimated_cells'] == 39300000 and cs['organ'] == ['spleen']
        # The original reads protocols from protocol documents only: v5 library
        # preparation and sequencing processes are processes, not protocols
        assert c.contents['library_preparation_protocols'] == []
        assert c.contents['sequencing_protocols'] == []
        # ... but the sequencing process is one
        assert len(c.contents['sequencing_processes']) == 1
        submitted = raw['metadata'][f'sequence_file/{c.entity_id}']['hca_ingest'][
            'submissionDate']
        assert c.contents['dates'][0]['submission_date'][:23] == submitted[:23]


def test_stitched_matrix(fixtures_dir):
    raw, bundle = load(fixtures_dir, 'fce68057-b0f0-5d11-b9a7-30e8fa3259a8.dss.hca.json')
    contributions = by_type(transform_bundle(bundle, deleted=False))
    (matrix,) = contributions['files']
    (file,) = matrix.contents['files']
    entry = raw['manifest'][f'analysis_file/{matrix.entity_id}']
    assert file['uuid'] == entry['uuid'] and file['size'] == entry['size']
    # A DSS bundle: the DRS URI names this deployment's DRS service, as the
    # original derives it; the manifest's own is kept for downloads
    assert file['drs_uri'] == (f'drs://localhost/{entry["uuid"]}?version='
                               + file['version'].replace(':', '%3A'))
    assert file['source_drs_uri'] == entry['drs_uri']
    assert file['file_format'] == 'loom' and file['is_intermediate'] is False
    # Denormalized from stitched entities: every donor and specimen of the bundle
    assert {d['document_id'] for d in matrix.contents['donors']} == ids_of(raw,
                                                                           'donor_organism')
    assert {s['document_id'] for s in matrix.contents['samples']} == ids_of(
        raw, 'specimen_from_organism')
    organs = {content(raw, f'specimen_from_organism/{i}')['organ']['ontology_label']
              for i in ids_of(raw, 'specimen_from_organism')}
    assert {s['effective_organ'] for s in matrix.contents['samples']} == organs
    # Read from the file: library_preparation_protocol 565d6b74 and sequencing_protocol
    # 4adcb95e; analysis_protocol's protocol_id is the workflow
    (library,) = matrix.contents['library_preparation_protocols']
    assert library['library_construction_approach'] == "10X 3' v2 sequencing"
    assert library['nucleic_acid_source'] == 'single cell'
    (sequencing,) = matrix.contents['sequencing_protocols']
    assert sequencing['paired_end'] is False
    workflows = {content(raw, f'analysis_protocol/{i}')['protocol_core']['protocol_id']
                 for i in ids_of(raw, 'analysis_protocol')}
    assert {p['workflow'] for p in matrix.contents['analysis_protocols']} == workflows
    # The stitched samples and cell suspensions learn about the new matrix
    assert len(contributions['samples']) == len(ids_of(raw, 'specimen_from_organism')) == 14
    assert len(contributions['cell_suspensions']) == 40
    for c in contributions['samples']:
        assert matrix.entity_id in {f['document_id'] for f in c.contents['files']}


def test_cell_counts_and_donors_in_project(all_bundles):
    checked = 0
    for raw, bundle in all_bundles:
        links = raw['links']['links']
        cs_ids = ids_of(raw, 'cell_suspension')
        # Bundles where no cell suspension derives from another: every one is a leaf
        chained = any(
            set(link.get('inputs', [])) & cs_ids and set(link.get('outputs', [])) & cs_ids
            for link in links if 'process' in link
        ) or any('link_type' in link or 'source_id' in link for link in links)
        if chained or not cs_ids:
            continue
        expected = 0
        for cs in cs_ids:
            doc = content(raw, f'cell_suspension/{cs}')
            expected += doc.get('estimated_cell_count') or doc.get('total_estimated_cells') or 0
        (project,) = by_type(transform_bundle(bundle, False))['projects']
        counts = project.contents['cell_counts']
        assert sum(c.get('total_estimated_cells') or 0 for c in counts) == expected
        assert {d['document_id'] for d in project.contents['donors']} == ids_of(
            raw, 'donor_organism')
        checked += 1
    assert checked >= 20


def test_big_bundle_cell_counts(fixtures_dir):
    # d0e17014 has 384 cell suspensions, 781 metadata documents
    raw, bundle = load(fixtures_dir, 'd0e17014-9a58-4763-9e66-59894efbdaa8.dss.hca.json')
    assert len(raw['metadata']) == 781
    contributions = by_type(transform_bundle(bundle, False))
    expected = sum(content(raw, f'cell_suspension/{cs}').get('total_estimated_cells') or 0
                   for cs in ids_of(raw, 'cell_suspension'))
    (project,) = contributions['projects']
    assert sum(c['total_estimated_cells'] or 0
               for c in project.contents['cell_suspensions']) == expected
    assert len(project.contents['cell_suspensions']) == 384


def test_project_fields(fixtures_dir):
    raw, bundle = load(fixtures_dir, '80baee6e-00a5-4fdc-bfe3-d339ff8a7178.dss.hca.json')
    (key,) = [k for k in raw['metadata'] if k.startswith('project/')]
    doc = raw['metadata'][key]
    contributions = by_type(transform_bundle(bundle, False))
    (project,) = contributions['projects'][0].contents['projects']
    assert project['project_short_name'] == doc['project_core']['project_short_name']
    assert project['project_title'] == doc['project_core']['project_title']
    assert project['project_description'] == doc['project_core']['project_description']
    # Read from the file: estimated_cell_count 3589
    assert project['estimated_cell_count'] == doc['estimated_cell_count'] == 3589
    assert contributions['projects'][0].contents['cell_counts'][-1] == {
        'document_id': key.partition('/')[2], 'estimated_cell_count': 3589}
    assert set(project['laboratory']) == {c['laboratory'] for c in doc['contributors']
                                          if c.get('laboratory')}
    assert len(project['contributors']) == len(doc['contributors'])
    assert len(project['publications']) == len(doc.get('publications', []))
    # As in the original, every contribution carries the description (it is
    # only dropped when projects are folded into other aggregates)
    (file_project,) = contributions['files'][0].contents['projects']
    assert file_project['project_description'] == doc['project_core']['project_description']


def test_accessions(fixtures_dir):
    raw, bundle = load(fixtures_dir, '04836733-0449-4e57-be2e-6f3b8fbdfb12.dss.hca.json')
    (key,) = [k for k in raw['metadata'] if k.startswith('project/')]
    doc = raw['metadata'][key]
    expected = {(k.removesuffix('_accessions'), v) for k, vs in doc.items()
                if k.endswith('_accessions') for v in vs}
    assert expected
    (project,) = by_type(transform_bundle(bundle, False))['projects'][0].contents['projects']
    assert {(a['namespace'], a['accession']) for a in project['accessions']} == expected


def test_imaging_bundle(fixtures_dir):
    raw, bundle = load(fixtures_dir, '94f2ba52-30c8-4de0-a78e-f95a3f8deb9c.dss.hca.json')
    contributions = by_type(transform_bundle(bundle, False))
    assert len(contributions['files']) == len(raw['manifest']) == 227
    formats = Counter(f.contents['files'][0]['file_format'] for f in contributions['files'])
    expected = Counter(content(raw, k)['file_core'].get('format')
                       or content(raw, k)['file_core'].get('file_format')
                       for k in raw['manifest'])
    assert formats == expected
    (project,) = contributions['projects']
    assert sum(f['size'] for f in project.contents['files']) == sum(
        e['size'] for e in raw['manifest'].values())
    # Assay types with their number of probes, folded by frequency later
    assay_types = {a for p in project.contents['imaging_protocols'] for a in p['assay_type']}
    assert assay_types


def test_deletion_markers(fixtures_dir):
    raw, bundle = load(fixtures_dir, '1b6d8348-d6e9-406a-aa6a-7ee886e52bf9.tdr.hca.json')
    added = transform_bundle(bundle, deleted=False)
    deleted = transform_bundle(bundle, deleted=True)
    assert [(c.entity_type, c.entity_id) for c in added] == [(c.entity_type, c.entity_id)
                                                             for c in deleted]
    assert all(c.deleted and c.contents == {} for c in deleted)
    assert {c.id for c in added}.isdisjoint(c.id for c in deleted)


def test_transform_is_deterministic(fixtures_dir):
    raw, bundle = load(fixtures_dir, '79fa91b4-f1fc-534b-a935-b57342804a70.'
                                     '2020-12-10T10:30:00.000000Z.dss.hca.json')
    first = [c.to_json() for c in transform_bundle(bundle, False)]
    second = [c.to_json() for c in transform_bundle(bundle, False)]
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_missing_entities_do_not_crash(fixtures_dir, caplog):
    raw, bundle = load(fixtures_dir, 'fce68057-b0f0-5d11-b9a7-30e8fa3259a8.dss.hca.json')
    dropped = {k for k in raw['metadata']
               if k.startswith(('donor_organism/', 'library_preparation_protocol/'))}
    metadata = {k: v for k, v in raw['metadata'].items() if k not in dropped}
    broken = Bundle(fqid=bundle.fqid, source='test', manifest=raw['manifest'],
                    metadata=metadata, links=raw['links'], stitched=bundle.stitched)
    with caplog.at_level(logging.WARNING):
        contributions = by_type(transform_bundle(broken, False))
    (matrix,) = contributions['files']
    assert matrix.contents['donors'] == []
    assert matrix.contents['library_preparation_protocols'] == []
    assert len(matrix.contents['samples']) == 14


def test_cell_suspension_chain(fixtures_dir):
    # Read from the file: cell suspension 119c4135 is the input of the process that
    # makes cell suspension 6ff38054, so only the latter's cells count
    raw, bundle = load(fixtures_dir, '1ed68210-eaba-531d-ba9e-db80164d65ef.dss.hca.json')
    contributions = {c.entity_id: c for c in transform_bundle(bundle, False)
                     if c.entity_type == 'cell_suspensions'}
    upstream, leaf = '119c4135-7b77-5003-a150-f052e22c6834', '6ff38054-9296-5d4c-b238-6a3b01a15175'
    assert contributions.keys() == {upstream, leaf}
    for cs_id, c in contributions.items():
        # A cell suspension's contribution holds only itself, not its chain
        (own,) = c.contents['cell_suspensions']
        assert own['document_id'] == cs_id
        cells = content(raw, f'cell_suspension/{cs_id}')['estimated_cell_count']
        if cs_id == leaf:
            assert own['total_estimated_cells'] == cells
        else:
            assert own['total_estimated_cells'] == 0
            assert own['total_estimated_cells_redundant'] == cells
        assert c.contents['cell_counts'] == [{'document_id': cs_id,
                                              'total_estimated_cells':
                                                  own['total_estimated_cells']}]
    (project,) = [c for c in transform_bundle(bundle, False) if c.entity_type == 'projects']
    assert {cs['document_id'] for cs in project.contents['cell_suspensions']} == {upstream,
                                                                                  leaf}


def test_dates_with_utc_offset(fixtures_dir):
    raw, bundle = load(fixtures_dir, '4426adc5-b3c5-5aab-ab86-51d8ce44dfbe.tdr.hca.json')
    (project,) = [c for c in transform_bundle(bundle, False) if c.entity_type == 'bundles']
    (dates,) = project.contents['dates']
    # Read from the file: "2020-08-10T14:24:26.174274-07:00" is the newest date
    assert dates['aggregate_update_date'] == '2020-08-10T21:24:26.174274Z'
