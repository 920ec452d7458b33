"""
The protocol documents of a synthetic project. Every bundle of a project
refers to the same protocols, as in real DCP/2 submissions.
"""
import re
from random import Random

from azul_dev.synth.documents import JSON, document, onto, uuid4
from azul_dev.synth.vocabulary import (
    DISSOCIATION_METHODS,
    ENRICHMENT_METHODS,
    FULL_LENGTH,
    HUMAN,
    INSTRUMENTS,
    POLY_A_RNA,
    TAG_BASED,
    TAG_BASED_NUCLEUS,
    Assay,
    Organ,
    Term,
)

#: Analysis methods of contributors, for assays the DCP ran no pipeline on
CONTRIBUTOR_METHODS = ('Cell Ranger v3.0.2', 'Seurat v4.0', 'Scanpy 1.7.2', 'dropEst 0.8.6')


def _slug(text: str) -> str:
    return re.sub(r'[^A-Za-z0-9]+', '_', text).strip('_').lower()


def _core(protocol_id: str, name: str, description: str) -> JSON:
    return {'protocol_id': protocol_id, 'protocol_name': name,
            'protocol_description': description}


def make_protocols(rng: Random,
                   organ: Organ,
                   assay: Assay,
                   nucleus: bool,
                   species: Term,
                   date: str) -> dict[str, tuple[str, JSON]]:
    """
    Return the protocols of a project by entity type, as (id, document).
    """
    protocols: dict[str, tuple[str, JSON]] = {}

    def add(entity_type: str, body: JSON) -> None:
        protocol_id = uuid4(rng)
        protocols[entity_type] = protocol_id, document(entity_type, protocol_id, date, body)

    organ_label = organ.term[0]
    collection = rng.choice(organ.collection)
    add('collection_protocol', {
        'protocol_core': _core(f'{_slug(organ_label)}_{_slug(collection[0])}',
                               f'{organ_label.capitalize()} {collection[0]}',
                               f'Samples of {organ_label} were obtained by {collection[0]} '
                               'and transported on ice within two hours.'),
        'method': onto(collection),
    })
    dissociation = rng.choice(DISSOCIATION_METHODS)
    target = 'nuclei' if nucleus else 'cells'
    add('dissociation_protocol', {
        'protocol_core': _core(f'{_slug(organ_label)}_{target}_isolation',
                               f'Isolation of {target} from {organ_label}',
                               f'Tissue was minced and subjected to {dissociation[0]}; '
                               f'{target} were filtered through a 40 um strainer.'),
        'method': onto(dissociation),
    })
    if rng.random() < 0.5:
        enrichment = rng.choice(ENRICHMENT_METHODS)
        body = {
            'protocol_core': _core(_slug(enrichment[0]), enrichment[0].capitalize(),
                                   f'Viable {target} were enriched by {enrichment[0]}.'),
            'method': onto(enrichment),
        }
        if enrichment[1] == 'EFO:0009108':
            body['markers'] = rng.choice(('DAPI-', 'CD45+', 'CD34+ CD38-', 'EPCAM+'))
        add('enrichment_protocol', body)

    method_label = assay.method[0]
    library: JSON = {
        'protocol_core': _core(f'{_slug(method_label)}_library_preparation',
                               f'{method_label} library preparation',
                               f'Libraries were prepared with {method_label} following the '
                               "manufacturer's protocol."),
        'input_nucleic_acid_molecule': onto(POLY_A_RNA),
        'nucleic_acid_source': 'single nucleus' if nucleus else 'single cell',
        'library_construction_method': onto(assay.method),
        'end_bias': assay.end_bias,
        'primer': 'poly-dT',
        'strand': 'first' if assay.kind == '10x' else 'unstranded',
    }
    if assay.kind == '10x':
        library['cell_barcode'] = {'barcode_read': 'Read 1', 'barcode_offset': 0,
                                   'barcode_length': 16}
        library['umi_barcode'] = {'barcode_read': 'Read 1', 'barcode_offset': 16,
                                  'barcode_length': 12 if 'v3' in method_label else 10}
    add('library_preparation_protocol', library)

    instrument = rng.choice(INSTRUMENTS)
    if assay.kind == 'plate':
        method = FULL_LENGTH
    else:
        method = TAG_BASED_NUCLEUS if nucleus else TAG_BASED
    sequencing: JSON = {
        'protocol_core': _core(f'{_slug(instrument[0])}_sequencing',
                               f'{instrument[0]} sequencing',
                               f'Libraries were sequenced on an {instrument[0]}.'),
        'instrument_manufacturer_model': onto(instrument),
        'paired_end': assay.kind != 'droplet' or rng.random() < 0.5,
        'method': onto(method),
    }
    if assay.kind == '10x':
        sequencing['10x'] = {'fastq_method': 'Cellranger mkfastq',
                             'fastq_method_version': rng.choice(('2.1.1', '3.0.2', '6.0.1'))}
    add('sequencing_protocol', sequencing)

    if assay.workflow is None:
        computational_method = rng.choice(CONTRIBUTOR_METHODS)
        add('analysis_protocol', {
            'computational_method': computational_method,
            'protocol_core': {'protocol_id': f'{_slug(computational_method)}_analysis'},
            'type': {'text': 'expression matrix generation'},
        })
    else:
        workflow, computational_method = assay.workflow
        add('analysis_protocol', {
            'computational_method': computational_method,
            'protocol_core': {'protocol_id': workflow},
            'type': {'text': 'analysis_protocol'},
        })
    return protocols


def reference_genome(species: Term) -> str:
    if species == HUMAN:
        return 'gs://gcp-public-data--broad-references/hg38/v0/GRCh38.primary_assembly.genome.fa'
    else:
        return 'gs://gcp-public-data--broad-references/mm10/v0/GRCm38.primary_assembly.genome.fa'
