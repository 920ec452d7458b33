"""
Vocabularies of synthetic AnVIL rows, after what AnVIL's Findability Subset
snapshots hold: consent codes of dbGaP, ontology terms (MONDO diseases, HPO
phenotypes, UBERON sites) beside the values TDR redacts (``redacted-<8>``, as
in the fixtures), and file sizes per format and assay as sequencing centres
produce them. Each table is a list of ``(value, weight)`` pairs.
"""
import base64
import math
from collections.abc import Sequence
from random import Random
from typing import Any, TypeVar

T = TypeVar('T')

# A synthetic snapshot's host in DRS URIs, the one the fixtures use
DRS_HOST = 'mock_tdr.lan'

PROGRAMS = [('CMG', 5), ('CCDG', 4), ('GTEx', 2), ('NHGRI', 2), ('PAGE', 1), ('T2T', 1)]
CENTERS = [('UWASH', 3), ('BROAD', 4), ('BCM', 2), ('YALE', 2), ('NYGC', 2), ('WashU', 1)]
# dbGaP consent groups: general research use, health/medical/biomedical,
# disease-specific (the fixture's DS-BDIS), each sometimes with modifiers
CONSENTS = [('GRU', 5), ('HMB', 5), ('DS-BDIS', 1), ('DS-CARD-MDS', 1), ('DS-EP-NPU', 1),
            ('HMB-IRB', 2), ('HMB-NPU', 2), ('GRU-IRB', 1), ('DS-ASD', 1), ('DS-MSD-IRB', 1)]
OWNERS = ['Debbie Nickerson', 'Heidi Rehm', 'Daniel MacArthur', 'Michael Talkowski',
          'Richard Lifton', 'Evan Eichler', 'Benjamin Neale', 'Mark Daly', 'Aarno Palotie',
          'Kristin Ardlie', 'Goncalo Abecasis', 'Nancy Cox', 'Eimear Kenny', 'Ruth Loos']
STUDY_TOPICS = ['Mendelian disorders', 'epilepsy', 'autism spectrum disorder',
                'cardiovascular disease', 'bipolar disorder', 'type 2 diabetes',
                'inflammatory bowel disease', 'neuromuscular disease', 'hearing loss',
                'congenital heart defects', 'schizophrenia', 'Alzheimer disease']

ORGANISM_TYPES = [('Homo sapiens', 95), ('redacted', 5)]
SEXES = [('female', 48), ('male', 48), ('redacted', 3), (None, 1)]
ETHNICITIES = [('Not Hispanic or Latino', 60), ('Hispanic or Latino', 15),
               ('redacted', 15), ('Unknown', 10)]
ANCESTRIES = [('European', 45), ('African', 15), ('East Asian', 10), ('South Asian', 10),
              ('Admixed American', 10), ('Middle Eastern', 3)]

DISEASES = [('MONDO:0005027', 8), ('MONDO:0100038', 6), ('MONDO:0005258', 5),
            ('MONDO:0004985', 4), ('MONDO:0005148', 4), ('MONDO:0005011', 3),
            ('MONDO:0005090', 3), ('MONDO:0020121', 2), ('MONDO:0019200', 2),
            ('MONDO:0004975', 2), ('MONDO:0008903', 1), ('MONDO:0011122', 1),
            ('redacted', 10)]
PHENOTYPES = [('HP:0001250', 8), ('HP:0001263', 6), ('HP:0000717', 5), ('HP:0001249', 5),
              ('HP:0001627', 4), ('HP:0000365', 3), ('HP:0003324', 3), ('HP:0000729', 3),
              ('HP:0001290', 2), ('HP:0002376', 2), ('HP:0000252', 2), ('redacted', 8)]

BIOSAMPLE_TYPES = [('Blood', 50), ('Saliva', 15), ('DNA', 12), ('Tissue', 8),
                   ('Cell line', 5), (None, 10)]
ANATOMICAL_SITES = [('UBERON:0000178', 50), ('UBERON:0001836', 15), ('UBERON:0002107', 5),
                    ('UBERON:0000955', 5), ('UBERON:0002048', 3), (None, 22)]
CELL_TYPES = [('CL:0000236', 1), ('CL:0000084', 1), ('CL:0000057', 1)]

ASSAYS = [('WGS', 55), ('WES', 35), ('RNA-seq', 10)]
# Per assay, what one sequencing activity generates: lists of file formats
OUTPUTS: dict[str, list[tuple[tuple[str, ...], int]]] = {
    'WGS': [(('.cram',), 6), (('.bam',), 3), (('.cram', '.g.vcf.gz'), 3),
            (('.bam', '.g.vcf.gz'), 2), (('.vcf.gz',), 1)],
    'WES': [(('.bam',), 5), (('.cram',), 3), (('.bam', '.vcf.gz'), 2),
            (('.cram', '.g.vcf.gz'), 1)],
    'RNA-seq': [(('.fastq.gz', '.fastq.gz'), 5), (('.bam',), 3), (('.fastq.gz',), 1)],
}
# Median size in bytes of a file of each (assay, format) and the spread (sigma
# of its logarithm): a 30x WGS CRAM is ~17 GB, a WES BAM ~8 GB, ...
SIZES: dict[tuple[str, str], tuple[float, float]] = {
    ('WGS', '.cram'): (17e9, 0.25), ('WGS', '.bam'): (62e9, 0.3),
    ('WGS', '.g.vcf.gz'): (4.5e9, 0.3), ('WGS', '.vcf.gz'): (110e6, 0.4),
    ('WES', '.cram'): (4.2e9, 0.3), ('WES', '.bam'): (8e9, 0.35),
    ('WES', '.g.vcf.gz'): (220e6, 0.4), ('WES', '.vcf.gz'): (30e6, 0.5),
    ('RNA-seq', '.fastq.gz'): (3.5e9, 0.45), ('RNA-seq', '.bam'): (7e9, 0.4),
}
REFERENCE_ASSEMBLIES = [('GRCh38', 70), ('GRCh37', 10), (None, 20)]
# The name of an aligned file's pipeline, as the fixture's
# ``307500.merged.matefixed.sorted.markeddups.recal.bam``
STEMS = {'.cram': 'cram', '.bam': 'merged.matefixed.sorted.markeddups.recal.bam',
         '.g.vcf.gz': 'haplotypeCalls.g.vcf.gz', '.vcf.gz': 'filtered.vcf.gz'}

# Supplementary files of a dataset: joint calls, sample sheets, QC reports
SUPPLEMENTARY = [('.vcf.gz', 'joint_genotyped.chr{n}.vcf.gz', 900e6, 5),
                 ('.txt', 'recalibrated_variants.annotated.coding.chr{n}.txt', 15e6, 3),
                 ('.tsv', 'sample_manifest_{n}.tsv', 250e3, 4),
                 ('.pdf', 'qc_report_batch{n}.pdf', 2.5e6, 2),
                 ('.xlsx', 'phenotypes_{n}.xlsx', 400e3, 1)]

def weighted(rng: Random, table: Sequence[tuple[T, int]]) -> T:
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights)[0]


def redacted(rng: Random) -> str:
    # TDR replaces a sensitive value by ``redacted-`` and 8 base64 characters
    return 'redacted-' + base64.b64encode(rng.randbytes(6)).decode('ascii')


def term(rng: Random, table: Sequence[tuple[Any, int]]) -> Any:
    """A value of `table`, the placeholder ``redacted`` replaced by a redacted value."""
    value = weighted(rng, table)
    return redacted(rng) if value == 'redacted' else value


def size(rng: Random, assay: str, file_format: str) -> int:
    median, sigma = SIZES[assay, file_format]
    return max(1024, int(rng.lognormvariate(math.log(median), sigma)))


def md5(rng: Random) -> str:
    # TDR holds MD5 digests in base64
    return base64.b64encode(rng.randbytes(16)).decode('ascii')


def age_range(rng: Random, low: int, high: int) -> tuple[Any, Any, Any]:
    """``(lower_bound, upper_bound, unit)``: most often unknown, else a range of years."""
    if rng.random() < 0.6:
        return None, None, None
    lower = rng.randint(low, high)
    # Ages are often binned into five-year ranges to protect the donors
    upper = lower if rng.random() < 0.5 else lower + 5
    # TDR's bounds are FLOAT64 columns
    return float(lower), float(upper), 'year'
