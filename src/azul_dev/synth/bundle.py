"""
One synthetic bundle: a DCP/2-style subgraph of a project, from a donor
through specimens and a cell suspension to sequence files and, in many
bundles, analysis files.
"""
from azul_dev.synth.analysis import AnalysisBuilder
from azul_dev.synth.data import MAX_SIZE, checksums, data_bytes
from azul_dev.synth.documents import (
    DAY_MICROS,
    JSON,
    document,
    onto,
    process_link,
    timestamp,
    uuid4,
)
from azul_dev.synth.graph import Bundle
from azul_dev.synth.vocabulary import DNA_SEQUENCE, ORGANS, TAXON_IDS

_DNA_SEQUENCE = [onto(DNA_SEQUENCE)]

#: Per assay kind: (read index, file name token, read length, minimum size,
#: maximum size) of each file of one sequencing lane
_READS = {
    '10x': (('index1', 'I1', 8, 200_000_000, 1_500_000_000),
            ('read1', 'R1', 28, 800_000_000, 5_000_000_000),
            ('read2', 'R2', 91, 2_000_000_000, 15_000_000_000)),
    'plate': (('read1', '1', 75, 20_000_000, 400_000_000),
              ('read2', '2', 75, 20_000_000, 400_000_000)),
    'droplet': (('read1', 'R1', 20, 500_000_000, 3_000_000_000),
                ('read2', 'R2', 60, 1_500_000_000, 8_000_000_000)),
}

_PRESERVATION = (
    {'storage_method': 'fresh', 'preservation_method': 'fresh'},
    {'storage_method': 'fresh', 'preservation_method': 'fresh'},
    {'storage_method': 'frozen in liquid nitrogen',
     'preservation_method': 'cryopreservation, other'},
)


class BundleBuilder(AnalysisBuilder):

    def build(self, index: int) -> Bundle:
        rng, project = self.rng, self.project
        submitted = project.start + index * DAY_MICROS // 4 + rng.randrange(DAY_MICROS)
        date = timestamp(submitted)
        # The bundle version is the time the subgraph was last touched, by the
        # analysis pipeline if it ran, so it is never older than its contents.
        at = submitted + rng.randint(1, 30) * DAY_MICROS + rng.randrange(DAY_MICROS)
        bundle = Bundle(uuid=uuid4(rng), version=timestamp(at), metadata={}, manifest={},
                        links=[], at=at)
        bundle.metadata[f'project/{project.id}'] = project.doc
        donor_id, donor_doc = rng.choice(project.donors)
        bundle.metadata[f'donor_organism/{donor_id}'] = donor_doc
        bundle.sample = sample = f'{project.short_name[:16]}_{index + 1:05d}'
        taxon = TAXON_IDS[project.species]
        species = [onto(project.species)]
        diseases = donor_doc['diseases']

        specimens = []
        for n in range(1 if rng.random() < 0.85 else 2):
            specimen_id = uuid4(rng)
            organ = rng.choice(project.organs)
            body: JSON = {
                'biomaterial_core': {
                    'biomaterial_id': f'{sample}_S{n + 1}',
                    'biomaterial_name': f'{sample} {organ.term[0]} specimen {n + 1}',
                    'ncbi_taxon_id': [taxon],
                },
                'genus_species': species,
                'organ': onto(organ.term),
            }
            if organ.parts:
                body['organ_parts'] = [onto(rng.choice(organ.parts))]
            body['diseases'] = diseases
            body['preservation_storage'] = rng.choice(_PRESERVATION)
            key = f'specimen_from_organism/{specimen_id}'
            bundle.metadata[key] = document('specimen_from_organism', specimen_id, date, body)
            bundle.specimens.append(key)
            specimens.append(specimen_id)
            process_id = self._process(bundle, f'{sample}_collection_{n + 1}', date)
            bundle.links.append(process_link(
                'process', process_id, [('donor_organism', donor_id)],
                [('specimen_from_organism', specimen_id)],
                [self._protocol(bundle, 'collection_protocol')]))

        suspension_id = uuid4(rng)
        kind = project.assay.kind
        cells = 1 if kind == 'plate' else rng.randrange(500, 15000, 100)
        body = {
            'biomaterial_core': {
                'biomaterial_id': sample,
                'biomaterial_name': f'{sample} cell suspension',
                'ncbi_taxon_id': [taxon],
            },
            'genus_species': species,
        }
        if project.run_prefix is not None:
            sra = project.run_prefix == 'SRR'
            body['biomaterial_core']['biosamples_accession'] = (
                f'SAMN{rng.randint(10000000, 29999999)}' if sra
                else f'SAMEA{rng.randint(4000000, 9999999)}')
        organ = project.organs[0]
        if rng.random() < 0.6:
            body['selected_cell_types'] = [onto(t) for t in rng.sample(
                organ.cell_types, rng.randint(1, min(2, len(organ.cell_types))))]
        body['estimated_cell_count'] = cells
        if kind == 'plate':
            body['plate_based_sequencing'] = {'plate_label': f'P{index // 384 + 1}',
                                              'well_label': f'{"ABCDEFGH"[index % 8]}'
                                                            f'{index // 8 % 12 + 1:02d}'}
        bundle.metadata[f'cell_suspension/{suspension_id}'] = document(
            'cell_suspension', suspension_id, date, body)
        protocols = [self._protocol(bundle, 'dissociation_protocol')]
        if 'enrichment_protocol' in project.protocols:
            protocols.append(self._protocol(bundle, 'enrichment_protocol'))
        process_id = self._process(bundle, f'{sample}_dissociation', date)
        bundle.links.append(process_link(
            'process', process_id, [('specimen_from_organism', s) for s in specimens],
            [('cell_suspension', suspension_id)], protocols))

        lanes = 1 if kind == 'plate' else rng.choice((1, 1, 2, 2, 4))
        outputs = [f for lane in range(1, lanes + 1) for f in self._lane(bundle, lane, date)]
        body = {}
        if project.run_prefix is not None:
            body['insdc_experiment'] = {
                'insdc_experiment_accession': f'{project.run_prefix[0]}RX'
                                              f'{rng.randint(1000000, 19999999)}'
            }
        process_id = self._process(bundle, f'{sample}_sequencing', date, body)
        bundle.sequencing_link = len(bundle.links)
        bundle.lanes = lanes
        bundle.links.append(process_link(
            'process', process_id, [('cell_suspension', suspension_id)],
            [('sequence_file', f) for f in outputs],
            [self._protocol(bundle, 'library_preparation_protocol'),
             self._protocol(bundle, 'sequencing_protocol')]))

        if project.assay.workflow is not None:
            if rng.random() < 0.6:
                self.add_analysis(bundle, suspension_id, outputs, cells, at)
        elif rng.random() < 0.5:
            self.add_contributor_matrix(bundle, suspension_id, cells, date)

        if index == 0 or rng.random() < 0.08:
            files = []
            for file_id, doc, entry in project.supplementary:
                key = f'supplementary_file/{file_id}'
                bundle.metadata[key] = doc
                bundle.manifest[key] = entry
                files.append({'file_type': 'supplementary_file', 'file_id': file_id})
            bundle.links.append({
                'link_type': 'supplementary_file_link',
                'entity': {'entity_type': 'project', 'entity_id': project.id},
                'files': files,
            })
        return bundle

    def _lane(self, bundle: Bundle, lane: int, date: str) -> list[str]:
        rng, project = self.rng, self.project
        kind = project.assay.kind
        body: JSON = {}
        if project.run_prefix is not None:
            body['insdc_run_accessions'] = [f'{project.run_prefix}{rng.randint(5000000, 19999999)}']
        file_ids = []
        for read_index, token, read_length, low, high in _READS[kind]:
            if kind == 'plate':
                # Smart-seq2 cells are sequenced in one lane, unless topped up
                lane_token = '' if lane == 1 else f'_L{lane:03d}'
                name = f'{bundle.sample}{lane_token}_{token}.fastq.gz'
            else:
                name = f'{bundle.sample}_S1_L{lane:03d}_{token}_001.fastq.gz'
            file_ids.append(self._file(bundle, 'sequence_file', name, 'fastq.gz',
                                       rng.randint(low, high), date, {
                                           'file_core': {'content_description': _DNA_SEQUENCE},
                                           'read_index': read_index,
                                           'lane_index': lane,
                                           'read_length': read_length,
                                           **body,
                                       }))
        return file_ids

    def update(self, bundle: Bundle) -> Bundle:
        """
        Return a newer version of the given bundle that differs the way
        resubmissions do: a re-uploaded file, a top-up sequencing lane or a
        corrected organ.
        """
        rng = self.rng
        at = bundle.at + rng.randint(1, 180) * DAY_MICROS + rng.randrange(DAY_MICROS)
        date = timestamp(at)
        new = Bundle(uuid=bundle.uuid, version=date, metadata=dict(bundle.metadata),
                     manifest=dict(bundle.manifest), links=list(bundle.links), at=at,
                     sample=bundle.sample, lanes=bundle.lanes,
                     sequencing_link=bundle.sequencing_link, specimens=list(bundle.specimens))
        change = rng.choice(('size', 'lane', 'organ'))
        if change == 'size':
            key = rng.choice([k for k in new.manifest if not k.startswith('supplementary')])
            entry = dict(new.manifest[key])
            # New bytes, usually a few more of them
            entry['size'] = min(MAX_SIZE, entry['size'] + rng.randint(1, 64))
            entry['version'] = date
            entry.update(checksums(data_bytes(entry['uuid'], date, entry['size'])))
            new.manifest[key] = entry
            _touch(new, key, date)
        elif change == 'lane':
            new.lanes += 1
            added = self._lane(new, new.lanes, date)
            link = dict(new.links[new.sequencing_link])
            link['outputs'] = link['outputs'] + [
                {'output_type': 'sequence_file', 'output_id': f} for f in added]
            new.links[new.sequencing_link] = link
        else:
            key = rng.choice(new.specimens)
            doc = dict(new.metadata[key])
            organ = rng.choice([o for o in ORGANS if onto(o.term) != doc['organ']])
            doc['organ'] = onto(organ.term)
            doc.pop('organ_parts', None)
            if organ.parts:
                doc['organ_parts'] = [onto(rng.choice(organ.parts))]
            new.metadata[key] = doc
            _touch(new, key, date)
        return new


def _touch(bundle: Bundle, key: str, date: str) -> None:
    doc = dict(bundle.metadata[key])
    doc['provenance'] = {**doc['provenance'], 'update_date': date}
    bundle.metadata[key] = doc

