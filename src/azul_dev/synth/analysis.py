"""
Analysis subgraphs: DCP/2 pipeline runs on the sequence files of a bundle,
or matrices contributed by the submitters.
"""
from azul_dev.synth.documents import JSON, document, onto, process_link, timestamp, uuid4
from azul_dev.synth.graph import Bundle, GraphBuilder
from azul_dev.synth.protocols import reference_genome
from azul_dev.synth.vocabulary import COUNT_MATRIX, EXPRESSION_MATRIX, HUMAN

_DCP_MATRIX = [onto(COUNT_MATRIX, text='DCP/2-generated matrix')]
_CONTRIBUTOR_MATRIX = [onto(EXPRESSION_MATRIX, text='expression matrix')]
_CELL_METADATA = [{'text': 'cell level metadata'}]

#: Input parameter names of the Optimus and Smart-seq2 workflows
_DROPLET_PARAMETERS = {'read1': 'r1_fastq', 'read2': 'r2_fastq', 'index1': 'i1_fastq'}
_PLATE_PARAMETERS = {'read1': 'fastq1', 'read2': 'fastq2'}

#: The reference genome bundles are not part of a project, only referred to
_REFERENCE_FILES = {
    True: ['dd7b2d3f-1a28-5e0d-9cbc-1c3b5d7f7f3a'],
    False: ['5b6ab42c-4e84-573d-a055-4af6ae6d4055'],
}


def _no_description() -> JSON:
    # DCP/2 leaves the content description of BAM files empty
    return {'file_core': {'content_description': []}}


class AnalysisBuilder(GraphBuilder):

    def add_analysis(self,
                     bundle: Bundle,
                     input_id: str,
                     fastqs: list[str],
                     cells: int,
                     at: int) -> None:
        """
        Add a run of the project's DCP/2 pipeline on the given sequence files,
        finishing at `at`, named after `input_id` as the pipelines do.
        """
        rng, project = self.rng, self.project
        date = timestamp(at)
        start = timestamp(at - rng.randint(600, 20000) * 1_000_000)
        kind = project.assay.kind
        matrix_format = project.matrix_format
        matrix = (f'{input_id}.{matrix_format}', matrix_format,
                  rng.randint(20_000_000, 1_200_000_000), {
                      'file_core': {'content_description': _DCP_MATRIX},
                      # Cell calling drops some of the estimated cells
                      'matrix_cell_count': max(1, cells * rng.randint(60, 100) // 100),
                  })
        bam_size = rng.randint(2_000_000_000, 30_000_000_000)
        if kind == 'plate':
            files = [
                (f'{input_id}_qc.bam', 'bam', bam_size // 20, _no_description()),
                (f'{input_id}_qc.bam.bai', 'bai', bam_size // 4000, _no_description()),
                matrix,
            ]
        else:
            files = [matrix, (f'{input_id}.bam', 'bam', bam_size, _no_description())]
        outputs = [
            self._file(bundle, 'analysis_file', name, file_format, size, date, body)
            for name, file_format, size, body in files
        ]
        drs_uris: dict[str, list[str]] = {}
        for file_id in fastqs:
            doc = bundle.metadata[f'sequence_file/{file_id}']
            drs_uri = bundle.manifest[f'sequence_file/{file_id}']['drs_uri']
            drs_uris.setdefault(doc['read_index'], []).append(drs_uri)
        names = _PLATE_PARAMETERS if kind == 'plate' else _DROPLET_PARAMETERS
        inputs = [
            {'parameter_name': names[read_index], 'parameter_value': str(uris)}
            for read_index, uris in drs_uris.items()
        ]
        inputs.append({'parameter_name': 'input_id', 'parameter_value': input_id})
        inputs.append({'parameter_name': 'ref_genome_fasta',
                       'parameter_value': reference_genome(project.species)})
        if kind == '10x':
            chemistry = 'tenX_v3' if 'v3' in project.assay.method[0] else 'tenX_v2'
            inputs.append({'parameter_name': 'chemistry', 'parameter_value': chemistry})
        process_id = uuid4(rng)
        bundle.metadata[f'analysis_process/{process_id}'] = document(
            'analysis_process', process_id, date, {
                'analysis_run_type': 'run',
                'inputs': inputs,
                'process_core': {'process_id': process_id},
                'reference_files': _REFERENCE_FILES[project.species == HUMAN],
                'tasks': [],
                'timestamp_start_utc': start,
                'timestamp_stop_utc': date,
                'type': {'text': 'analysis'},
            })
        bundle.links.append(process_link(
            'analysis_process', process_id, [('sequence_file', f) for f in fastqs],
            [('analysis_file', f) for f in outputs],
            [self._protocol(bundle, 'analysis_protocol')]))

    def add_contributor_matrix(self, bundle: Bundle, input_id: str, cells: int, date: str) -> None:
        rng = self.rng
        count = max(1, cells * rng.randint(60, 100) // 100)
        outputs = [
            self._file(bundle, 'analysis_file', f'{bundle.sample}_matrix.mtx.gz', 'mtx.gz',
                       rng.randint(5_000_000, 600_000_000), date,
                       {'file_core': {'content_description': _CONTRIBUTOR_MATRIX},
                        'matrix_cell_count': count}),
            self._file(bundle, 'analysis_file', f'{bundle.sample}_cell_metadata.csv', 'csv',
                       rng.randint(50_000, 5_000_000), date,
                       {'file_core': {'content_description': _CELL_METADATA}}),
        ]
        process_id = self._process(bundle, f'{bundle.sample}_analysis', date)
        bundle.links.append(process_link(
            'process', process_id, [('cell_suspension', input_id)],
            [('analysis_file', f) for f in outputs],
            [self._protocol(bundle, 'analysis_protocol')]))
