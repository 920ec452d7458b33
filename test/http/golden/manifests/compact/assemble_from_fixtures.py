"""
How the golden manifests of this folder and of `../curl` were assembled, kept
so that they can be assembled again and read. See README.md.

Nothing here imports azul: the values are transcribed from the original's
test/service/test_manifest.py or read straight from the fixture bundle JSON
(its `manifest` entries and metadata documents), and laid out by the
original's rules as written down in README.md. Run from the repository root:

    python test/http/golden/manifests/compact/assemble_from_fixtures.py
"""
import csv
import json
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).parent
CURL = HERE.parent / 'curl'
BUNDLES = Path(__file__).resolve().parents[6] / 'shared/fixtures/hca/bundles/indexer'

SERVICE = 'http://azul.test'
CATALOG = 'dcp'
# DRS URIs of the DSS fixtures name the local server (AZUL_HOST:AZUL_PORT of
# test/http/conftest.py) and carry the version as a query argument
DRS_DOMAIN = '127.0.0.1:8000'
SOURCE = '$DSS_SOURCE'


def q(s: str) -> str:
    # The query arguments of file and DRS URLs are percent-encoded throughout
    return quote(s, safe='')


def drs_uri(uuid: str, version: str) -> str:
    return f'drs://{DRS_DOMAIN}/{uuid}?version={q(version)}'


def file_url(uuid: str, version: str, **args: str) -> str:
    query = '&'.join(f'{k}={q(v)}' for k, v in {'catalog': CATALOG, 'version': version,
                                                   **args}.items())
    return f'{SERVICE}/repository/files/{uuid}?{query}'


def bundle(uuid: str) -> dict:
    with open(BUNDLES / f'{uuid}.dss.hca.json') as f:
        return json.load(f)


def bundle_version(uuid: str) -> str:
    # A canned bundle without a version in its file name has the newest date
    # of its metadata documents, with microseconds
    dates = [date
             for document in bundle(uuid)['metadata'].values()
             for date in (document.get('provenance', {}).get('update_date'),
                          document.get('provenance', {}).get('submission_date'),
                          document.get('hca_ingest', {}).get('updateDate'),
                          document.get('hca_ingest', {}).get('submissionDate'))
             if date is not None]
    newest = max(dates)
    assert newest.endswith('Z') and len(newest) == len('2018-10-10T03:07:24.568Z'), newest
    return newest[:-1] + '000Z'


def manifest_entries(uuid: str) -> list[tuple[str, dict]]:
    """(metadata key, manifest entry) of every data file, in bundle order."""
    return list(bundle(uuid)['manifest'].items())


def write_tsv(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, list(rows[0]), dialect='excel-tab', lineterminator='\n')
        writer.writeheader()
        writer.writerows(rows)


OPTIONS = ('--http1.1\n\n--create-dirs\n\n--compressed\n\n--location\n\n--globoff\n\n'
           '--fail\n\n--fail-early\n\n--continue-at -\n\n'
           '--write-out "Downloading to: %{filename_effective}\\n\\n"\n\n')


def curl_entry(url: str, output: str) -> str:
    return f'url="{url}"\noutput="{output}"\n\n'


# 1. Two files of bundle f79257a7 (project Mouse Melanoma), filtered by fileId:
#    the original's test_compact_manifest, transposed back into rows. Rows are
#    in entity id (file document id) order: 6c946b6c… before 89e313db…
def melanoma() -> None:
    fastq = ('f2b6c6f0-8d25-4aae-b255-1974cc110cfe', '2018-09-14T12:33:43.720332Z')
    pdf = ('5f9b45af-9a26-4b16-a785-7f2d1053dd7c', '2018-09-14T12:33:47.012715Z')
    bundle_uuid = 'f79257a7-dfc6-46d6-ae00-ba4b25313c10'
    institutions = ' || '.join(['DKFZ German Cancer Research Center', 'EMBL-EBI',
                                'University of Cambridge', 'University of Helsinki',
                                'Wellcome Trust Sanger Institute'])
    laboratories = ' || '.join(['Human Cell Atlas Data Coordination Platform', 'MRC Cancer Unit',
                                'Sarah Teichmann'])
    columns = [
        ('source_id', SOURCE, SOURCE),
        ('source_spec', SOURCE, SOURCE),
        ('bundle_uuid', bundle_uuid, bundle_uuid),
        ('bundle_version', bundle_version(bundle_uuid), bundle_version(bundle_uuid)),
        ('file_document_id', '6c946b6c-040e-45cc-9114-a8b1454c8d20',
         '89e313db-4423-4d53-b17e-164949acfa8f'),
        ('file_type', 'sequence_file', 'supplementary_file'),
        ('file_name', '22028_5#300_1.fastq.gz', 'SmartSeq2_RTPCR_protocol.pdf'),
        ('file_format', 'fastq.gz', 'pdf'),
        ('read_index', 'read1', ''),
        ('file_size', '64718465', '29230'),
        ('file_uuid', fastq[0], pdf[0]),
        ('file_version', fastq[1], pdf[1]),
        ('file_crc32c', '980453cc', 'b9364bfa'),
        ('file_sha256', '3125f2f86092798b85be93fbc66f4e733e9aec0929b558589c06929627115582',
         '2f6866c4ede92123f90dd15fb180fac56e33309b8fd3f4f52f263ed2f8af2f16'),
        ('file_content_type', 'application/gzip; dcp-type=data', 'application/pdf; dcp-type=data'),
        ('file_drs_uri', drs_uri(*fastq), drs_uri(*pdf)),
        ('file_url', file_url(*fastq), file_url(*pdf)),
        ('cell_suspension.provenance.document_id',
         '0037c9eb-8038-432f-8d9d-13ee094e54ab || aaaaaaaa-8038-432f-8d9d-13ee094e54ab', ''),
        ('cell_suspension.biomaterial_core.biomaterial_id', '22028_5#300 || 22030_5#300', ''),
        ('cell_suspension.estimated_cell_count', '9001', ''),
        ('cell_suspension.selected_cell_type', 'CAFs', ''),
        ('sequencing_process.provenance.document_id', '72732ed3-7b71-47df-bcec-c765ef7ea758', ''),
        ('sequencing_protocol.instrument_manufacturer_model', 'Illumina HiSeq 2500', ''),
        ('sequencing_protocol.paired_end', 'True', ''),
        ('library_preparation_protocol.library_construction_approach', 'Smart-seq2', ''),
        ('library_preparation_protocol.nucleic_acid_source', 'single cell', ''),
        ('project.provenance.document_id', '67bc798b-a34a-4104-8cab-cad648471f69',
         '67bc798b-a34a-4104-8cab-cad648471f69'),
        ('project.contributors.institution', institutions, institutions),
        ('project.contributors.laboratory', laboratories, laboratories),
        ('project.project_core.project_short_name', 'Mouse Melanoma', 'Mouse Melanoma'),
        ('project.project_core.project_title',
         'Melanoma infiltration of stromal and immune cells',
         'Melanoma infiltration of stromal and immune cells'),
        ('project.estimated_cell_count', '', ''),
        ('specimen_from_organism.provenance.document_id',
         'aaaaaaaa-7bab-44ba-a81d-3d8cb3873244 || b4e55fe1-7bab-44ba-a81d-3d8cb3873244', ''),
        ('specimen_from_organism.diseases', '', ''),
        ('specimen_from_organism.organ', 'brain || tumor', ''),
        ('specimen_from_organism.organ_part', '', ''),
        ('specimen_from_organism.preservation_storage.preservation_method', '', ''),
        ('donor_organism.sex', 'female', ''),
        ('donor_organism.biomaterial_core.biomaterial_id', '1209', ''),
        ('donor_organism.provenance.document_id', '89b50434-f831-4e15-a8c0-0d57e6baa94c', ''),
        ('donor_organism.genus_species', 'Mus musculus', ''),
        ('donor_organism.development_stage', 'adult', ''),
        ('donor_organism.diseases', 'subcutaneous melanoma', ''),
        ('donor_organism.organism_age', '6-12 week', ''),
        ('cell_line.provenance.document_id', '', ''),
        ('cell_line.biomaterial_core.biomaterial_id', '', ''),
        ('organoid.provenance.document_id', '', ''),
        ('organoid.biomaterial_core.biomaterial_id', '', ''),
        ('organoid.model_organ', '', ''),
        ('organoid.model_organ_part', '', ''),
        ('_entity_type', 'specimens', ''),
        ('sample.provenance.document_id',
         'aaaaaaaa-7bab-44ba-a81d-3d8cb3873244 || b4e55fe1-7bab-44ba-a81d-3d8cb3873244', ''),
        ('sample.biomaterial_core.biomaterial_id', '1209_T || 1210_T', ''),
        ('sequencing_input.provenance.document_id',
         '0037c9eb-8038-432f-8d9d-13ee094e54ab || aaaaaaaa-8038-432f-8d9d-13ee094e54ab', ''),
        ('sequencing_input.biomaterial_core.biomaterial_id', '22028_5#300 || 22030_5#300', ''),
        ('sequencing_input_type', 'cell_suspension', ''),
    ]
    rows = [{name: values[i] for name, *values in columns} for i in range(2)]
    write_tsv(HERE / 'melanoma_two_files.tsv', rows)
    with open(CURL / 'melanoma_two_files.curlrc', 'w', newline='') as f:
        f.write(OPTIONS
                + curl_entry(file_url(*fastq), f'{bundle_uuid}/22028_5#300_1.fastq.gz')
                + curl_entry(file_url(*pdf), f'{bundle_uuid}/SmartSeq2_RTPCR_protocol.pdf'))


# 2. The zarr store of bundle 587d74b4, filtered by bundleUuid and fileFormat
#    matrix: the original's test_manifest_zarr. Its `.zattrs` is the file
#    (format `matrix`), the other members of the store are its related files,
#    in bundle manifest order, with `!` in their names read as `/`.
def zarr() -> None:
    bundle_uuid = '587d74b4-1075-4bbf-b96a-4d1ede0481b2'
    version = bundle_version(bundle_uuid)
    metadata = bundle(bundle_uuid)['metadata']
    rows, curl = [], [OPTIONS]
    for key, entry in manifest_entries(bundle_uuid):
        if '.zarr!' not in entry['name']:
            continue
        name = entry['name'].replace('!', '/')
        file_format = metadata[key]['file_core']['file_format']
        related = not name.endswith('.zarr/.zattrs')
        assert related == (file_format != 'matrix'), name
        rows.append({
            'bundle_uuid': bundle_uuid,
            'bundle_version': version,
            'file_document_id': key.split('/')[1],
            'file_type': key.split('/')[0],
            'file_name': name,
            'file_format': file_format,
            'file_size': str(entry['size']),
            'file_uuid': entry['uuid'],
            'file_version': entry['version'],
            'file_crc32c': entry['crc32c'],
            'file_content_type': entry['content-type'],
            'file_drs_uri': drs_uri(entry['uuid'], entry['version']),
            # The compact manifest gives related files plain file URLs
            'file_url': file_url(entry['uuid'], entry['version']),
            # The row of a related file repeats the other columns of its file's
            'specimen_from_organism.organ': 'brain',
        })
        # The curl manifest's URLs of related files say how to find them
        args = dict(requestIndex='1', fileName=name,
                    drsUri=drs_uri(entry['uuid'], entry['version'])) if related else {}
        curl.append(curl_entry(file_url(entry['uuid'], entry['version'], **args),
                               f'{bundle_uuid}/{name}'))
    # Transcribed from test_manifest_zarr: names, UUIDs and checksums, in order
    assert [(r['file_name'].removeprefix('377f2f5a-4a45-4c62-8fb0-db9ef33f5cf0.zarr/'),
             r['file_uuid'][:8], r['file_crc32c']) for r in rows] == [
        ('.zattrs', 'c1c4a2bc', '4e75003e'),
        ('.zgroup', '54541cc5', '444a7707'),
        ('expression_matrix/.zgroup', '66b8f976', '444a7707'),
        ('expression_matrix/cell_id/.zarray', 'ac05d7fb', 'c6ab0701'),
        ('expression_matrix/cell_id/0.0', '0c518a52', 'cd2fd51f'),
        ('expression_matrix/expression/.zarray', '136108ab', 'b89e6723'),
        ('expression_matrix/expression/0.0', '0bef5419', 'caaefa77'),
        ('expression_matrix/gene_id/.zarray', '3a5f7299', 'f629ec34'),
        ('expression_matrix/gene_id/0.0', 'a8f0dc39', '59d86b68'),
        ('expression_matrix/qc_metric/.zarray', '68ba4711', '25d193cf'),
        ('expression_matrix/qc_metric/0.0', '27e66328', '17a84191'),
        ('expression_matrix/qc_values/.zarray', '2ab1a516', '25d193cf'),
        ('expression_matrix/qc_values/0.0', '351970aa', 'bdc30523'),
    ]
    write_tsv(HERE / 'zarr_587d74b4.tsv', rows)
    with open(CURL / 'zarr_587d74b4.curlrc', 'w', newline='') as f:
        f.write(''.join(curl))


# 3. Two files in more than one bundle, filtered by fileId: the BAM of the
#    three HPSI bundles (one version, so the greatest UUID is the newest) and a
#    FASTQ of two Human Hematopoietic Profiling bundles (f0731ab4 is newer).
#    Rows in entity id order: 022a217c… (BAM) before 078b71eb… (FASTQ).
def multi_bundle() -> None:
    bam = dict(key='analysis_file/022a217c-384d-4d9d-8631-6397b6838e3a',
               bundles=['411cd8d5-5990-43cd-84cc-6c7796b8a76d',
                        '412cd8d5-5990-43cd-84cc-6c7796b8a76d',
                        'dcccb551-4766-4210-966c-f9ee25d19190'],
               newest='dcccb551-4766-4210-966c-f9ee25d19190',
               # 412cd8d5 is a copy whose project has another short name
               short_names='HPSI human cerebral organoids || HPSI human cerebral organoids2')
    fastq = dict(key='sequence_file/078b71eb-220a-43e5-a0fc-4f231e90f85f',
                 bundles=['cfab8304-dc9f-439e-af29-f8eb75b0729d',
                          'f0731ab4-6b80-4eed-97c9-4984de81a47c'],
                 newest='f0731ab4-6b80-4eed-97c9-4984de81a47c',
                 short_names='Human Hematopoietic Profiling')
    rows, curl = [], [OPTIONS]
    for file in (bam, fastq):
        entry = bundle(file['bundles'][0])['manifest'][file['key']]
        versions = sorted({bundle_version(b) for b in file['bundles']})
        assert max((bundle_version(b), b) for b in file['bundles'])[1] == file['newest']
        rows.append({
            'bundle_uuid': ' || '.join(sorted(file['bundles'])),
            'bundle_version': ' || '.join(versions),
            'file_document_id': file['key'].split('/')[1],
            'file_name': entry['name'],
            'file_uuid': entry['uuid'],
            'file_version': entry['version'],
            'project.project_core.project_short_name': file['short_names'],
        })
        curl.append(curl_entry(file_url(entry['uuid'], entry['version']),
                               f"{file['newest']}/{entry['name']}"))
    write_tsv(HERE / 'multi_bundle.tsv', rows)
    with open(CURL / 'multi_bundle.curlrc', 'w', newline='') as f:
        f.write(''.join(curl))


if __name__ == '__main__':
    CURL.mkdir(exist_ok=True)
    melanoma()
    zarr()
    multi_bundle()
