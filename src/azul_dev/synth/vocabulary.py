"""
Small tables of real ontology terms for synthetic HCA metadata.

Every term is a `(label, CURIE)` pair taken from the ontology it names
(UBERON, CL, MONDO, PATO, NCBITaxon, HsapDv, MmusDv, EFO, OBI, UO, EDAM
`data:`), most of them as they appear in the real fixture bundles. People,
places and phrases live in `names.py`.
"""
from dataclasses import dataclass

Term = tuple[str, str]

HUMAN: Term = ('Homo sapiens', 'NCBITaxon:9606')
MOUSE: Term = ('Mus musculus', 'NCBITaxon:10090')
TAXON_IDS = {HUMAN: 9606, MOUSE: 10090}

NORMAL: Term = ('normal', 'PATO:0000461')

# Collection methods
BLOOD_DRAW: Term = ('blood draw', 'EFO:0009121')
DISSECTION: Term = ('dissection', 'EFO:0003856')
RESECTION: Term = ('surgical resection', 'EFO:0009744')
POSTMORTEM: Term = ('collecting specimen from organ postmortem', 'EFO:0009627')
BIOPSY: Term = ('biopsy', 'EFO:0009120')


@dataclass(frozen=True)
class Organ:
    term: Term
    #: Used in project titles, e.g. "renal" or "hepatic"
    adjective: str
    parts: tuple[Term, ...]
    cell_types: tuple[Term, ...]
    diseases: tuple[Term, ...]
    collection: tuple[Term, ...]


COVID_19: Term = ('COVID-19', 'MONDO:0100096')

ORGANS: tuple[Organ, ...] = (
    Organ(('blood', 'UBERON:0000178'), 'blood', (), (
        ('peripheral blood mononuclear cell', 'CL:2000001'),
        ('T cell', 'CL:0000084'),
        ('B cell', 'CL:0000236'),
        ('monocyte', 'CL:0000576'),
        ('natural killer cell', 'CL:0000623'),
    ), (
        COVID_19,
        ('systemic lupus erythematosus', 'MONDO:0007915'),
        ('multiple sclerosis', 'MONDO:0005301'),
    ), (BLOOD_DRAW,)),
    Organ(('brain', 'UBERON:0000955'), 'brain', (
        ('cerebral cortex', 'UBERON:0000956'),
        ('prefrontal cortex', 'UBERON:0000451'),
        ('hippocampal formation', 'UBERON:0002421'),
        ('cerebellum', 'UBERON:0002037'),
    ), (
        ('neuron', 'CL:0000540'),
        ('astrocyte', 'CL:0000127'),
        ('oligodendrocyte', 'CL:0000128'),
        ('microglial cell', 'CL:0000129'),
    ), (
        ('Alzheimer disease', 'MONDO:0004975'),
        ('glioblastoma', 'MONDO:0018177'),
        ('multiple sclerosis', 'MONDO:0005301'),
    ), (POSTMORTEM, RESECTION)),
    Organ(('heart', 'UBERON:0000948'), 'cardiac', (
        ('heart left ventricle', 'UBERON:0002084'),
        ('heart right ventricle', 'UBERON:0002080'),
        ('left cardiac atrium', 'UBERON:0002079'),
        ('right cardiac atrium', 'UBERON:0002078'),
    ), (
        ('cardiac muscle cell', 'CL:0000746'),
        ('endothelial cell', 'CL:0000115'),
        ('fibroblast', 'CL:0000057'),
    ), (
        ('dilated cardiomyopathy', 'MONDO:0005021'),
        ('hypertrophic cardiomyopathy', 'MONDO:0005045'),
        ('heart failure', 'MONDO:0005252'),
    ), (POSTMORTEM, DISSECTION)),
    Organ(('kidney', 'UBERON:0002113'), 'renal', (
        ('cortex of kidney', 'UBERON:0001225'),
        ('renal medulla', 'UBERON:0000362'),
        ('renal pelvis', 'UBERON:0001224'),
    ), (
        ('kidney cell', 'CL:1000497'),
        ('kidney epithelial cell', 'CL:0002518'),
        ('podocyte', 'CL:0000653'),
    ), (
        ('chronic kidney disease', 'MONDO:0005300'),
        ('clear cell renal carcinoma', 'MONDO:0005005'),
    ), (BIOPSY, RESECTION)),
    Organ(('liver', 'UBERON:0002107'), 'hepatic', (
        ('right lobe of liver', 'UBERON:0001114'),
        ('left lobe of liver', 'UBERON:0001115'),
    ), (
        ('hepatocyte', 'CL:0000182'),
        ('Kupffer cell', 'CL:0000091'),
        ('hepatic stellate cell', 'CL:0000632'),
    ), (
        ('hepatocellular carcinoma', 'MONDO:0007256'),
        ('cirrhosis of liver', 'MONDO:0005155'),
    ), (RESECTION, BIOPSY)),
    Organ(('lung', 'UBERON:0002048'), 'pulmonary', (
        ('upper lobe of left lung', 'UBERON:0008952'),
        ('lower lobe of left lung', 'UBERON:0008953'),
        ('bronchus', 'UBERON:0002185'),
        ('alveolus of lung', 'UBERON:0002299'),
    ), (
        ('type II pneumocyte', 'CL:0002063'),
        ('alveolar macrophage', 'CL:0000583'),
        ('ciliated cell', 'CL:0000064'),
    ), (
        COVID_19,
        ('asthma', 'MONDO:0004979'),
        ('chronic obstructive pulmonary disease', 'MONDO:0005002'),
        ('lung adenocarcinoma', 'MONDO:0005061'),
    ), (RESECTION, POSTMORTEM)),
    Organ(('pancreas', 'UBERON:0001264'), 'pancreatic', (
        ('islet of Langerhans', 'UBERON:0000006'),
        ('body of pancreas', 'UBERON:0001150'),
    ), (
        ('pancreatic A cell', 'CL:0000171'),
        ('type B pancreatic cell', 'CL:0000169'),
        ('pancreatic ductal cell', 'CL:0002079'),
        ('pancreatic acinar cell', 'CL:0002064'),
    ), (
        ('type 2 diabetes mellitus', 'MONDO:0005148'),
        ('type 1 diabetes mellitus', 'MONDO:0005147'),
        ('pancreatic ductal adenocarcinoma', 'MONDO:0006047'),
    ), (POSTMORTEM, RESECTION)),
    Organ(('eye', 'UBERON:0000970'), 'retinal', (
        ('retina', 'UBERON:0000966'),
        ('retinal neural layer', 'UBERON:0003902'),
        ('fovea centralis', 'UBERON:0001786'),
        ('macula lutea', 'UBERON:0000053'),
    ), (
        ('retinal rod cell', 'CL:0000604'),
        ('retinal cone cell', 'CL:0000573'),
        ('Mueller cell', 'CL:0000636'),
        ('retinal bipolar neuron', 'CL:0000748'),
    ), (
        ('age related macular degeneration', 'MONDO:0005150'),
        ('cataract', 'MONDO:0005129'),
    ), (POSTMORTEM,)),
    Organ(('skin of body', 'UBERON:0002097'), 'skin', (
        ('skin epidermis', 'UBERON:0001003'),
        ('dermis', 'UBERON:0002067'),
    ), (
        ('keratinocyte', 'CL:0000312'),
        ('melanocyte', 'CL:0000148'),
        ('fibroblast of dermis', 'CL:0002551'),
    ), (
        ('psoriasis', 'MONDO:0005083'),
        ('atopic eczema', 'MONDO:0004980'),
        ('melanoma', 'MONDO:0005105'),
    ), (BIOPSY,)),
    Organ(('bone marrow', 'UBERON:0002371'), 'bone marrow', (), (
        ('hematopoietic stem cell', 'CL:0000037'),
        ('plasma cell', 'CL:0000786'),
        ('CD34-positive, CD38-negative hematopoietic stem cell', 'CL:0001024'),
    ), (
        ('multiple myeloma', 'MONDO:0009693'),
        ('acute myeloid leukemia', 'MONDO:0018874'),
    ), (RESECTION,)),
    Organ(('colon', 'UBERON:0001155'), 'colonic', (
        ('transverse colon', 'UBERON:0001157'),
        ('sigmoid colon', 'UBERON:0001159'),
    ), (
        ('enterocyte', 'CL:0000584'),
        ('goblet cell', 'CL:0000160'),
    ), (
        ('Crohn disease', 'MONDO:0005011'),
        ('ulcerative colitis', 'MONDO:0005101'),
        ('colorectal cancer', 'MONDO:0005575'),
    ), (BIOPSY, RESECTION)),
    Organ(('spleen', 'UBERON:0002106'), 'splenic', (), (
        ('B cell', 'CL:0000236'),
        ('T cell', 'CL:0000084'),
    ), (), (POSTMORTEM,)),
)

# Units of organism age
YEAR: Term = ('year', 'UO:0000036')
MONTH: Term = ('month', 'UO:0000035')
WEEK: Term = ('week', 'UO:0000034')
DAY: Term = ('day', 'UO:0000033')

# (unit, minimum age, maximum age, development stage), per species. The
# fetal stage is last.
HUMAN_AGES: tuple[tuple[Term, int, int, Term], ...] = (
    (YEAR, 18, 89, ('human adult stage', 'HsapDv:0000087')),
    (YEAR, 13, 17, ('adolescent stage', 'HsapDv:0000086')),
    (YEAR, 2, 12, ('child stage', 'HsapDv:0000081')),
    (MONTH, 2, 23, ('infant stage', 'HsapDv:0000083')),
    (DAY, 1, 27, ('newborn human stage', 'HsapDv:0000082')),
    (WEEK, 9, 17, ('fetal stage', 'HsapDv:0000037')),
)
MOUSE_AGES: tuple[tuple[Term, int, int, Term], ...] = (
    (WEEK, 6, 28, ('early adult stage', 'MmusDv:0000061')),
    (MONTH, 8, 24, ('late adult stage', 'MmusDv:0000097')),
    (DAY, 21, 41, ('premature stage', 'MmusDv:0000112')),
)


def fetal_stage(week: int) -> Term:
    """
    HsapDv numbers the post-fertilization weeks 9 to 17 consecutively, from
    HsapDv:0000046 for the 9th week on, so a finer term is cheap to derive.
    """
    assert 9 <= week <= 17, week
    return (f'{week}th week post-fertilization human stage', f'HsapDv:{37 + week:07d}')


MOUSE_STRAIN: Term = ('C57BL/6J', 'EFO:0000606')

DISSOCIATION_METHODS: tuple[Term, ...] = (
    ('enzymatic dissociation', 'EFO:0009128'),
    ('mechanical dissociation', 'EFO:0009129'),
)
ENRICHMENT_METHODS: tuple[Term, ...] = (
    ('fluorescence-activated cell sorting', 'EFO:0009108'),
    ('cell size selection', 'EFO:0009337'),
    ('density gradient centrifugation', 'EFO:0009112'),
)

POLY_A_RNA: Term = ('polyA RNA', 'OBI:0000869')
TAG_BASED: Term = ('tag based single cell RNA sequencing', 'EFO:0008440')
TAG_BASED_NUCLEUS: Term = ('tag based single nucleus RNA sequencing', 'EFO:0009811')
FULL_LENGTH: Term = ('full length single cell RNA sequencing', 'EFO:0008441')


@dataclass(frozen=True)
class Assay:
    method: Term
    #: '10x', 'plate' or 'droplet'; decides file layout and cell counts
    kind: str
    end_bias: str
    #: Name of the analysis workflow (DCP/2 analysis protocol id) and its
    #: computational method, or None if the DCP never ran a pipeline on it.
    workflow: tuple[str, str] | None


ASSAYS: tuple[Assay, ...] = (
    Assay(("10x 3' v2", 'EFO:0009899'), '10x', '3 prime tag', ('optimus_v4.2.2', 'Optimus')),
    Assay(("10x 3' v3", 'EFO:0009922'), '10x', '3 prime tag', ('optimus_v4.2.7', 'Optimus')),
    Assay(("10x 3' v3", 'EFO:0009922'), '10x', '3 prime tag', ('optimus_v4.2.3', 'Optimus')),
    Assay(("10x 5' v1", 'EFO:0011025'), '10x', '5 prime tag', None),
    Assay(('Smart-seq2', 'EFO:0008931'), 'plate', 'full length',
          ('smartseq2_v2.5.0', 'SmartSeq2SingleCell')),
    Assay(('Drop-seq', 'EFO:0008722'), 'droplet', '3 prime tag', None),
    Assay(('inDrop', 'EFO:0008780'), 'droplet', '3 prime tag', None),
)

INSTRUMENTS: tuple[Term, ...] = (
    ('Illumina NovaSeq 6000', 'EFO:0008637'),
    ('Illumina NovaSeq 6000', 'EFO:0008637'),
    ('Illumina HiSeq 2500', 'EFO:0008565'),
    ('Illumina HiSeq 4000', 'EFO:0008563'),
    ('Illumina NextSeq 500', 'EFO:0009173'),
    ('Illumina HiSeq X Ten', 'EFO:0008567'),
)

DNA_SEQUENCE: Term = ('DNA sequence', 'data:3494')
COUNT_MATRIX: Term = ('Count Matrix', 'data:3917')
EXPRESSION_MATRIX: Term = ('Gene expression matrix', 'data:3112')
MATRIX: Term = ('Matrix', 'data:2082')

PROJECT_ROLES: tuple[Term, ...] = (
    ('principal investigator', 'EFO:0009736'),
    ('experimental scientist', 'EFO:0009741'),
    ('computational scientist', 'EFO:0009742'),
    ('data curator', 'EFO:0009737'),
)


def all_terms() -> list[Term]:
    """
    Every term in this module, for tests that check the tables themselves.
    """
    terms = [HUMAN, MOUSE, NORMAL, MOUSE_STRAIN, POLY_A_RNA, TAG_BASED, TAG_BASED_NUCLEUS,
             FULL_LENGTH, DNA_SEQUENCE, COUNT_MATRIX, EXPRESSION_MATRIX, MATRIX,
             YEAR, MONTH, WEEK, DAY]
    for organ in ORGANS:
        terms += [organ.term, *organ.parts, *organ.cell_types, *organ.diseases,
                  *organ.collection]
    for ages in (HUMAN_AGES, MOUSE_AGES):
        terms += [t for age in ages for t in (age[0], age[3])]
    terms += [fetal_stage(week) for week in range(9, 18)]
    terms += [*DISSOCIATION_METHODS, *ENRICHMENT_METHODS, *INSTRUMENTS, *PROJECT_ROLES]
    terms += [assay.method for assay in ASSAYS]
    return terms
