"""
Tests of the synthetic AnVIL catalog generator, `azul_dev.synth.anvil`.

The shape is checked against the fixture bundles (fixtures README §6.2), not
against the generator's own code: every synthetic bundle must have the
entity types, the columns of each entity and the link keys of the fixture
bundle of its kind.
"""
import json
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from anvil_tables import ANVIL_DIR, FakeDUOS, InMemoryAnvilTables

from azul.core.documents import BundleFQID
from azul.plugins.metadata.anvil.plugin import AnvilPlugin
from azul.plugins.repository.canned import CannedRepository
from azul.plugins.repository.tdr.anvil_bundles import ACTIVITIES, build_bundle
from azul_dev.synth.anvil import AnvilSynthStats, generate_anvil

# From the fixtures README §6.2, not from the code under test
VERSION = '2022-06-01T00:00:00.000000Z'
GLOB = '*.tdr.anvil.json'
BIOSAMPLES = 60


def _kind(document: dict[str, Any]) -> str:
    types = {key.partition('/')[0] for key in document['entities']}
    if 'anvil_biosample' in types:
        return 'primary'
    if 'anvil_file' in types:
        return 'supplementary'
    return 'duos'


def _shape(documents) -> tuple[dict[str, set[str]], set[str]]:
    """The columns of each entity type and the keys of links in `documents`."""
    columns: dict[str, set[str]] = defaultdict(set)
    link_keys: set[str] = set()
    for document in documents:
        for key, entity in document['entities'].items():
            columns[key.partition('/')[0]] |= set(entity)
        for link in document['links']:
            link_keys |= set(link)
    return dict(columns), link_keys


FIXTURES = {_kind(d): d for d in (json.loads(p.read_text()) for p in ANVIL_DIR.glob(GLOB))}


def _documents(out: Path) -> dict[str, dict[str, Any]]:
    return {path.name.split('.')[0]: json.loads(path.read_text())
            for path in sorted(out.glob(GLOB))}


@pytest.fixture(scope='module')
def catalog(tmp_path_factory) -> tuple[Path, AnvilSynthStats, dict[str, dict[str, Any]]]:
    out = tmp_path_factory.mktemp('anvil')
    stats = generate_anvil(BIOSAMPLES, out, seed=7)
    return out, stats, _documents(out)


def test_the_fixtures_have_one_bundle_of_each_kind():
    assert set(FIXTURES) == {'primary', 'supplementary', 'duos'}


def test_deterministic(catalog, tmp_path):
    out, stats, _ = catalog
    again = generate_anvil(BIOSAMPLES, tmp_path / 'again', seed=7)
    assert again == stats
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in (tmp_path / 'again').iterdir())
    assert all((out / name).read_bytes() == (tmp_path / 'again' / name).read_bytes()
               for name in names)
    other = generate_anvil(BIOSAMPLES, tmp_path / 'other', seed=8)
    assert sorted(p.name for p in (tmp_path / 'other').iterdir()) != names
    assert other.biosamples == BIOSAMPLES


def test_refuses_a_directory_that_is_not_empty(tmp_path):
    (tmp_path / 'x.tdr.anvil.json').write_text('{}')
    with pytest.raises(FileExistsError):
        generate_anvil(1, tmp_path)


def test_stats_match_the_files(catalog):
    out, stats, documents = catalog
    assert json.loads((out / 'stats.json').read_text()) == stats.__dict__
    kinds = Counter(map(_kind, documents.values()))
    assert (stats.primary_bundles, stats.supplementary_bundles, stats.duos_bundles) == \
        (kinds['primary'], kinds['supplementary'], kinds['duos'])
    assert stats.bundles == len(documents) == sum(kinds.values())
    entities: dict[str, dict[str, dict]] = defaultdict(dict)
    for document in documents.values():
        for key, entity in document['entities'].items():
            table, _, row_id = key.partition('/')
            entities[table].setdefault(row_id, entity)
    files = entities['anvil_file'].values()
    assert stats.biosamples == BIOSAMPLES == len(entities['anvil_biosample'])
    assert stats.datasets == len(entities['anvil_dataset']) == stats.duos_bundles
    assert stats.donors == len(entities['anvil_donor'])
    assert stats.diagnoses == len(entities['anvil_diagnosis'])
    assert stats.activities == len(entities['anvil_sequencingactivity'])
    assert stats.files == sum(not f['is_supplementary'] for f in files)
    assert stats.supplementary_files == sum(f['is_supplementary'] for f in files)
    assert stats.total_file_size == sum(f['file_size'] for f in files)


def test_structure(catalog):
    _, stats, documents = catalog
    assert stats.datasets >= 3
    diagnoses, biosamples = defaultdict(set), defaultdict(set)
    for bundle_uuid, document in documents.items():
        entities = document['entities']
        by_table = defaultdict(list)
        for key, entity in entities.items():
            by_table[key.partition('/')[0]].append(entity)
        kind = _kind(document)
        root = {'primary': 'anvil_biosample', 'supplementary': 'anvil_file',
                'duos': 'anvil_dataset'}[kind]
        [root_id] = [key.partition('/')[2] for key in entities if key.startswith(root + '/')]
        # The bundle uuid rule: the root row id with the version digit set to `a`
        assert uuid.UUID(root_id).version == 4
        assert bundle_uuid == root_id[:14] + 'a' + root_id[15:]
        if kind != 'primary':
            continue
        [donor] = by_table['anvil_donor']
        [biosample] = by_table['anvil_biosample']
        diagnoses[donor['donor_id']] = {d['diagnosis_id'] for d in by_table['anvil_diagnosis']}
        biosamples[donor['donor_id']].add(biosample['biosample_id'])
        assert 1 <= len(by_table['anvil_file']) <= 4
        assert all(f['file_format'] in {'.bam', '.cram', '.vcf.gz', '.g.vcf.gz', '.fastq.gz'}
                   and f['file_size'] > 0 for f in by_table['anvil_file'])
        generated = [f for a in by_table['anvil_sequencingactivity']
                     for f in a['generated_file_id']]
        assert sorted(generated) == sorted(f['file_id'] for f in by_table['anvil_file'])
    assert all(len(d) <= 3 for d in diagnoses.values())
    assert all(1 <= len(b) <= 3 for b in biosamples.values())


def test_realistic_values(tmp_path):
    generate_anvil(1000, tmp_path, seed=1)
    donors, activities = {}, {}
    for document in _documents(tmp_path).values():
        for key, entity in document['entities'].items():
            if key.startswith('anvil_donor/'):
                donors[key] = entity
            elif key.startswith('anvil_sequencingactivity/'):
                activities[key] = entity
    organisms = Counter(d['organism_type'] for d in donors.values())
    assert organisms['Homo sapiens'] > 0.8 * len(donors)
    assays = {a for activity in activities.values() for a in activity['assay_type']}
    assert assays <= {'WGS', 'WES', 'RNA-seq'} and len(assays) >= 2


def test_every_bundle_has_the_fixture_shape(catalog):
    out, _, documents = catalog
    repo = CannedRepository()
    source = f'file://{out}/{GLOB}'
    listing = repo.list_bundles(source)
    assert listing.problems == ()
    assert sorted(listing.bundles) == [BundleFQID(u, VERSION) for u in sorted(documents)]
    shapes = {kind: _shape([document]) for kind, document in FIXTURES.items()}
    for fqid in listing.bundles:
        bundle = repo.fetch_bundle(source, fqid)
        document = documents[fqid.uuid]
        assert bundle.metadata == document['entities']
        assert bundle.links == {'links': document['links']}
        kind = _kind(document)
        columns, link_keys = _shape([document])
        fixture_columns, fixture_link_keys = shapes[kind]
        # A donor may lack diagnoses; every other type of the fixture is there
        assert set(fixture_columns) - set(columns) <= {'anvil_diagnosis'}
        for table in columns:
            assert columns[table] == fixture_columns[table], (fqid, table)
        assert link_keys == fixture_link_keys or (kind == 'duos' and not link_keys)


def test_the_plugin_transforms_every_bundle(catalog):
    out, stats, _ = catalog
    repo, plugin = CannedRepository(), AnvilPlugin()
    source = f'file://{out}/{GLOB}'
    entity_types = Counter()
    for fqid in repo.list_bundles(source).bundles:
        contributions = list(plugin.transform(repo.fetch_bundle(source, fqid), deleted=False))
        entity_types.update(c.entity_type for c in contributions)
    assert entity_types['bundles'] == stats.bundles
    assert entity_types['datasets'] == stats.bundles
    assert entity_types['biosamples'] == stats.biosamples
    assert entity_types['activities'] == stats.activities
    assert entity_types['files'] == stats.files + stats.supplementary_files


def test_the_tdr_builder_makes_the_same_bundles(catalog):
    # Each dataset as a TDR snapshot of its own: the rows of its bundles'
    # entities, as tables. The `tdr_anvil` builder must make the same bundles.
    _, _, documents = catalog
    tables: dict[str, dict[str, dict[str, dict]]] = defaultdict(lambda: defaultdict(dict))
    descriptions, datasets = {}, {}
    for bundle_uuid, document in documents.items():
        entities = document['entities']
        [dataset_key] = [key for key in entities if key.startswith('anvil_dataset/')]
        datasets[bundle_uuid] = dataset_key
        if _kind(document) == 'duos':
            descriptions[dataset_key] = entities[dataset_key]['description']
            continue
        for key, entity in entities.items():
            table, _, row_id = key.partition('/')
            row = {k: v for k, v in entity.items()
                   if k not in ('version', 'drs_uri', 'sha256', 'crc32')}
            tables[dataset_key][table][row_id] = row
    assert len(tables) == len(descriptions) >= 3
    for bundle_uuid, document in documents.items():
        dataset_key = datasets[bundle_uuid]
        snapshot = {table: list(tables[dataset_key].get(table, {}).values())
                    for table in ('anvil_biosample', 'anvil_dataset', 'anvil_diagnosis',
                                  'anvil_donor', 'anvil_file', *ACTIVITIES)}
        built = build_bundle(InMemoryAnvilTables(snapshot), 'tables', bundle_uuid, VERSION,
                             FakeDUOS(descriptions[dataset_key]))
        assert built.metadata == document['entities'], bundle_uuid
        assert built.links == {'links': document['links']}, bundle_uuid
