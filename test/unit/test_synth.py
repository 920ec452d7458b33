"""
Tests of the synthetic bundle generator, `azul_dev.synth`.
"""
import hashlib
import json
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from azul_dev.synth import DELETIONS_FILE, STATS_FILE, SynthStats, generate
from azul_dev.synth import vocabulary as vocab
from azul_dev.synth.data import crc32c

FIXTURES = Path(__file__).resolve().parents[3] / 'shared/fixtures/hca/bundles/indexer'

VERSION_RE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$')
FILE_NAME_RE = re.compile(r'^([0-9a-f-]{36})\.(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)\.json$')
CURIE_RE = re.compile(r'^(UBERON|CL|MONDO|PATO|NCBITaxon|HsapDv|MmusDv|EFO|OBI|UO|data):\d+$')
DATA_FILE_TYPES = {'sequence_file', 'analysis_file', 'supplementary_file'}
SCHEMA_TYPES = {
    'project': 'project',
    'donor_organism': 'biomaterial',
    'specimen_from_organism': 'biomaterial',
    'cell_suspension': 'biomaterial',
    'sequence_file': 'file',
    'analysis_file': 'file',
    'supplementary_file': 'file',
    'process': 'process',
    'analysis_process': 'process',
    'collection_protocol': 'protocol',
    'dissociation_protocol': 'protocol',
    'enrichment_protocol': 'protocol',
    'library_preparation_protocol': 'protocol',
    'sequencing_protocol': 'protocol',
    'analysis_protocol': 'protocol',
}
#: The ontology each field's terms must come from
FIELD_PREFIXES = {
    'organ': {'UBERON'},
    'organ_parts': {'UBERON'},
    'genus_species': {'NCBITaxon'},
    'diseases': {'MONDO', 'PATO'},
    'development_stage': {'HsapDv', 'MmusDv'},
    'organism_age_unit': {'UO'},
    'gestational_age_unit': {'UO'},
    'selected_cell_types': {'CL'},
    'library_construction_method': {'EFO'},
    'instrument_manufacturer_model': {'EFO'},
    'input_nucleic_acid_molecule': {'OBI'},
    'method': {'EFO'},
    'content_description': {'data'},
    'project_role': {'EFO'},
    'strain': {'EFO'},
}

JSON = dict[str, Any]


def bundle_files(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if FILE_NAME_RE.match(p.name))


def load(path: Path) -> JSON:
    return json.loads(path.read_bytes())


@pytest.fixture(scope='module')
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthStats, Path]:
    out = tmp_path_factory.mktemp('synth') / 'out'
    stats = generate(300, out, seed=0)
    return stats, out


@pytest.fixture(scope='module')
def bundles(generated: tuple[SynthStats, Path]) -> dict[str, JSON]:
    _, out = generated
    return {path.name: load(path) for path in bundle_files(out)}


def test_deterministic(tmp_path: Path) -> None:
    def run(name: str, seed: int) -> dict[str, bytes]:
        out = tmp_path / name
        generate(60, out, seed=seed)
        return {str(p.relative_to(out)): p.read_bytes()
                for p in sorted(out.rglob('*')) if p.is_file()}

    first, second, other = run('a', 7), run('b', 7), run('c', 8)
    assert first == second
    assert len(first) > 60
    assert set(first).isdisjoint(set(other) - {DELETIONS_FILE, STATS_FILE})
    assert any(name.startswith('data/') for name in first)


def test_stats_match_files_on_disk(generated: tuple[SynthStats, Path],
                                   bundles: dict[str, JSON]) -> None:
    stats, out = generated
    assert json.loads((out / STATS_FILE).read_text()) == {
        'bundles': stats.bundles, 'files': stats.files, 'projects': stats.projects,
        'deleted': stats.deleted, 'updated': stats.updated,
    }
    versions = defaultdict(list)
    for name in bundles:
        bundle_uuid, version = FILE_NAME_RE.match(name).groups()
        versions[bundle_uuid].append(version)
    assert stats.bundles == len(versions) == 300
    assert len(bundles) == stats.bundles + stats.updated
    assert sum(len(v) == 2 for v in versions.values()) == stats.updated
    assert all(len(v) <= 2 for v in versions.values())
    projects = {k for b in bundles.values() for k in b['metadata'] if k.startswith('project/')}
    assert len(projects) == stats.projects
    # One project per 20 to 50 bundles
    assert 300 // 50 <= stats.projects <= 300 // 20
    files = {k for b in bundles.values() for k in b['manifest']}
    assert len(files) == stats.files
    # About 2% deleted, 5% updated
    assert stats.deleted == 6
    assert stats.updated == 15


def test_deletions(generated: tuple[SynthStats, Path], bundles: dict[str, JSON]) -> None:
    stats, out = generated
    deletions = json.loads((out / DELETIONS_FILE).read_text())
    assert len(deletions) == stats.deleted > 0
    names = set(bundles)
    for deletion in deletions:
        assert set(deletion) == {'uuid', 'version'}
        assert f'{deletion["uuid"]}.{deletion["version"]}.json' in names
    deleted = {d['uuid'] for d in deletions}
    assert len(deleted) == len(deletions)
    updated = Counter(FILE_NAME_RE.match(n).group(1) for n in names)
    assert all(updated[u] == 1 for u in deleted), 'A deleted bundle must not also be updated'


def test_updates_differ(bundles: dict[str, JSON]) -> None:
    by_uuid = defaultdict(list)
    for name, bundle in bundles.items():
        bundle_uuid, version = FILE_NAME_RE.match(name).groups()
        by_uuid[bundle_uuid].append((version, bundle))
    updates = [sorted(v, key=lambda x: x[0]) for v in by_uuid.values() if len(v) == 2]
    assert updates
    changes = Counter()
    for (old_version, old), (new_version, new) in updates:
        assert old_version < new_version
        assert old != new
        if len(new['manifest']) > len(old['manifest']):
            changes['added file'] += 1
        elif old['manifest'] != new['manifest']:
            changes['changed file'] += 1
        else:
            changed = [k for k in old['metadata'] if old['metadata'][k] != new['metadata'][k]]
            assert [k.split('/')[0] for k in changed] == ['specimen_from_organism']
            assert old['metadata'][changed[0]]['organ'] != new['metadata'][changed[0]]['organ']
            changes['corrected organ'] += 1
        # The project and the rest of the graph stay the same
        assert set(old['metadata']) <= set(new['metadata'])
    assert len(changes) >= 2, changes


def iter_ontology_objects(value: Any, field: str | None = None) -> Iterator[tuple[str, JSON]]:
    if isinstance(value, dict):
        if 'ontology' in value:
            yield field, value
        for k, v in value.items():
            yield from iter_ontology_objects(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from iter_ontology_objects(v, field)


def test_bundle_structure(bundles: dict[str, JSON]) -> None:
    for name, bundle in bundles.items():
        bundle_uuid, version = FILE_NAME_RE.match(name).groups()
        assert uuid.UUID(bundle_uuid).version == 4
        assert set(bundle) == {'manifest', 'metadata', 'links', 'stitched'}
        assert bundle['stitched'] == []
        metadata, manifest = bundle['metadata'], bundle['manifest']
        types = Counter(key.split('/')[0] for key in metadata)
        assert types['project'] == 1, name
        assert types['donor_organism'] >= 1
        assert types['sequence_file'] >= 2
        for key, doc in metadata.items():
            entity_type, entity_id = key.split('/')
            assert doc['describedBy'].rsplit('/', 1)[1] == entity_type
            assert doc['describedBy'].startswith('https://schema.humancellatlas.org/type/')
            assert doc['schema_type'] == SCHEMA_TYPES[entity_type]
            provenance = doc['provenance']
            assert provenance['document_id'] == entity_id
            assert uuid.UUID(entity_id).version == 4
            assert VERSION_RE.match(provenance['submission_date'])
            assert provenance['submission_date'] <= provenance['update_date'] <= version
            if entity_type in DATA_FILE_TYPES:
                assert key in manifest, key
                assert manifest[key]['name'] == doc['file_core']['file_name']
            for field, term in iter_ontology_objects(doc):
                assert CURIE_RE.match(term['ontology']), term
                assert term['ontology'].split(':')[0] in FIELD_PREFIXES[field], (field, term)
                assert term['ontology_label'] and term['text']
        names = [entry['name'] for entry in manifest.values()]
        assert len(names) == len(set(names)), name
        for key, entry in manifest.items():
            assert key in metadata
            assert key.split('/')[0] in DATA_FILE_TYPES
            assert entry['indexed'] is False
            assert entry['content-type'].endswith('; dcp-type=data')
            assert entry['size'] > 0
            assert VERSION_RE.match(entry['version']) and entry['version'] <= version
            for field, length in (('crc32c', 8), ('sha1', 40), ('sha256', 64)):
                assert re.fullmatch(f'[0-9a-f]{{{length}}}', entry[field])
            # Small files are uploaded in one part: the ETag is their MD5
            assert re.fullmatch(r'[0-9a-f]{32}', entry['s3_etag'])
            assert entry['drs_uri'].endswith(entry['uuid'])
            assert uuid.UUID(entry['uuid']) != uuid.UUID(key.split('/')[1])
        check_links(bundle)


def check_links(bundle: JSON) -> None:
    metadata = bundle['metadata']
    links = bundle['links']
    assert links['schema_type'] == 'links'
    assert links['describedBy'].endswith(f'/system/{links["schema_version"]}/links')
    referenced = set()

    def resolve(entity_type: str, entity_id: str) -> None:
        key = f'{entity_type}/{entity_id}'
        assert key in metadata, key
        referenced.add(key)

    for link in links['links']:
        if link['link_type'] == 'process_link':
            resolve(link['process_type'], link['process_id'])
            assert link['inputs'] and link['outputs']
            for i in link['inputs']:
                resolve(i['input_type'], i['input_id'])
            for o in link['outputs']:
                resolve(o['output_type'], o['output_id'])
            for p in link['protocols']:
                resolve(p['protocol_type'], p['protocol_id'])
        else:
            assert link['link_type'] == 'supplementary_file_link'
            assert link['entity']['entity_type'] == 'project'
            resolve('project', link['entity']['entity_id'])
            for f in link['files']:
                assert f['file_type'] == 'supplementary_file'
                resolve(f['file_type'], f['file_id'])
    # Every document but the project takes part in the provenance graph
    unlinked = set(metadata) - referenced
    assert all(key.startswith('project/') for key in unlinked), unlinked


def test_realistic_distribution(bundles: dict[str, JSON]) -> None:
    donors = Counter()
    species = Counter()
    assays = set()
    analysis = 0
    for bundle in bundles.values():
        for key, doc in bundle['metadata'].items():
            entity_type = key.split('/')[0]
            if entity_type == 'donor_organism':
                donors[key] += 1
                species[doc['genus_species'][0]['ontology_label']] += 1
            elif entity_type == 'library_preparation_protocol':
                assays.add(doc['library_construction_method']['ontology_label'])
            elif entity_type == 'analysis_process':
                analysis += 1
    # Donors are reused across bundles of a project
    assert max(donors.values()) > 1
    assert species['Homo sapiens'] > species['Mus musculus']
    assert len(assays) > 1
    assert analysis > 0


def test_every_declared_file_has_its_bytes(generated: tuple[SynthStats, Path],
                                          bundles: dict[str, JSON]) -> None:
    _, out = generated
    declared = {}
    for bundle in bundles.values():
        for entry in bundle['manifest'].values():
            name = f'{entry["uuid"]}.{entry["version"]}'
            # A file recurring in several bundles is declared alike in each
            assert declared.setdefault(name, entry) == entry
    on_disk = {p.name for p in (out / 'data').iterdir()}
    assert on_disk == set(declared)
    for name, entry in declared.items():
        content = (out / 'data' / name).read_bytes()
        assert len(content) == entry['size'] <= 2048
        assert hashlib.sha256(content).hexdigest() == entry['sha256']
        assert hashlib.sha1(content).hexdigest() == entry['sha1']
        assert hashlib.md5(content).hexdigest() == entry['s3_etag']
        assert f'{crc32c(content):08x}' == entry['crc32c']


def test_crc32c() -> None:
    # Check values of CRC-32C (RFC 3720, B.4), computed by no code of ours
    assert crc32c(b'') == 0
    assert crc32c(b'123456789') == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b'\xff' * 32) == 0x62A8AB43


def test_progress(tmp_path: Path) -> None:
    calls = []
    stats = generate(75, tmp_path / 'out', seed=2, progress=calls.append)
    assert sum(calls) == stats.bundles == 75
    assert len(calls) == stats.projects


def test_refuses_non_empty_output(tmp_path: Path) -> None:
    (tmp_path / 'stale.json').write_text('{}')
    with pytest.raises(FileExistsError):
        generate(5, tmp_path)
    with pytest.raises(ValueError):
        generate(-1, tmp_path / 'new')


def test_small_runs(tmp_path: Path) -> None:
    assert generate(0, tmp_path / 'zero') == SynthStats(0, 0, 0, 0, 0)
    assert json.loads((tmp_path / 'zero' / DELETIONS_FILE).read_text()) == []
    stats = generate(1, tmp_path / 'one')
    assert (stats.bundles, stats.projects) == (1, 1)
    assert len(bundle_files(tmp_path / 'one')) == 1


def test_vocabulary_terms_are_real_curies() -> None:
    terms = vocab.all_terms()
    assert len(terms) > 100
    for label, curie in terms:
        assert label and label == label.strip(), curie
        assert CURIE_RE.match(curie), curie
    for organ in vocab.ORGANS:
        assert organ.term[1].startswith('UBERON:')
        assert all(part[1].startswith('UBERON:') for part in organ.parts)
        assert all(cell_type[1].startswith('CL:') for cell_type in organ.cell_types)
        assert all(disease[1].startswith('MONDO:') for disease in organ.diseases)
        assert all(method[1].startswith('EFO:') for method in organ.collection)
    for ages, prefix in ((vocab.HUMAN_AGES, 'HsapDv:'), (vocab.MOUSE_AGES, 'MmusDv:')):
        for unit, low, high, stage in ages:
            assert unit[1].startswith('UO:') and 0 < low <= high
            assert stage[1].startswith(prefix)
    assert vocab.fetal_stage(9) == ('9th week post-fertilization human stage', 'HsapDv:0000046')
    assert all(assay.method[1].startswith('EFO:') for assay in vocab.ASSAYS)
    # One label per CURIE
    labels = defaultdict(set)
    for label, curie in terms:
        labels[curie].add(label)
    assert {c: ls for c, ls in labels.items() if len(ls) > 1} == {}


def collect_keys(docs: Iterator[tuple[str, JSON]]) -> dict[str, set[str]]:
    """
    Collect the top-level keys per schema type, and the keys of the objects
    nested one level down, as `<type>.<field>`.
    """
    keys = defaultdict(set)
    for entity_type, doc in docs:
        keys[entity_type].update(doc)
        for field, value in doc.items():
            values = value if isinstance(value, list) else [value]
            for v in values:
                if isinstance(v, dict):
                    keys[f'{entity_type}.{field}'].update(v)
    return keys


def fixture_bundles() -> list[JSON]:
    assert FIXTURES.is_dir(), f'Fixtures not found at {FIXTURES}'
    return [load(path) for path in sorted(FIXTURES.glob('*.json'))]


def test_keys_are_subset_of_real_fixtures(bundles: dict[str, JSON]) -> None:
    real = fixture_bundles()

    def flat_docs(bundles_: list[JSON]) -> Iterator[tuple[str, JSON]]:
        for bundle in bundles_:
            for doc in bundle['metadata'].values():
                # Skip the wrapped v5 documents of 2018
                if 'describedBy' in doc:
                    yield doc['describedBy'].rsplit('/', 1)[1], doc

    real_keys = collect_keys(flat_docs(real))
    synth_keys = collect_keys(flat_docs(list(bundles.values())))
    assert set(synth_keys) <= set(real_keys), set(synth_keys) - set(real_keys)
    for entity_type, keys in synth_keys.items():
        assert keys <= real_keys[entity_type], (entity_type, keys - real_keys[entity_type])

    real_manifest = {k for b in real for e in b['manifest'].values() for k in e}
    synth_manifest = {k for b in bundles.values() for e in b['manifest'].values() for k in e}
    assert synth_manifest <= real_manifest

    def link_keys(bundles_: list[JSON]) -> dict[str, set[str]]:
        keys = defaultdict(set)
        for bundle in bundles_:
            if bundle['links']['schema_version'].startswith('3.'):
                keys['header'].update(bundle['links'])
                for link in bundle['links']['links']:
                    keys[link['link_type']].update(link)
        return keys

    real_links, synth_links = link_keys(real), link_keys(list(bundles.values()))
    assert set(synth_links) == {'header', 'process_link', 'supplementary_file_link'}
    for link_type, keys in synth_links.items():
        assert keys == real_links[link_type], link_type


def _projects_of(directory: Path) -> dict[str, set[str]]:
    """Project id -> names of the bundle files of the directory that name it."""
    result: dict[str, set[str]] = defaultdict(set)
    for path in directory.glob('*Z.json'):
        bundle = json.loads(path.read_text())
        for key in bundle['metadata']:
            if key.startswith('project/'):
                result[key].add(path.name)
    return result


def test_restricted_projects_are_whole(tmp_path: Path) -> None:
    # Every second project goes to `restricted`, all its bundles and their data files
    stats = generate(200, tmp_path, seed=2, restrict_every=2)
    assert stats.projects >= 2
    public, restricted = _projects_of(tmp_path), _projects_of(tmp_path / 'restricted')
    assert public and restricted
    assert not public.keys() & restricted.keys()
    assert len(public) + len(restricted) == stats.projects
    assert len(restricted) == stats.projects // 2
    # Each bundle's data files are beside it
    for directory in (tmp_path, tmp_path / 'restricted'):
        for path in directory.glob('*Z.json'):
            for entry in json.loads(path.read_text())['manifest'].values():
                assert (directory / 'data' / f'{entry["uuid"]}.{entry["version"]}').exists()
    deletions = json.loads((tmp_path / DELETIONS_FILE).read_text())
    for deletion in deletions:
        directory = tmp_path / 'restricted' if deletion.get('restricted') else tmp_path
        assert list(directory.glob(f'{deletion["uuid"]}.*Z.json'))
