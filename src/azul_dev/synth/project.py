"""
Project-level state shared by all bundles of one synthetic project: the
project document, a pool of donors, the protocols and supplementary files.
"""
import re
from dataclasses import dataclass, field
from random import Random

from azul_dev.synth import names
from azul_dev.synth.documents import (
    DAY_MICROS,
    JSON,
    document,
    hex_digits,
    manifest_entry,
    micros,
    onto,
    timestamp,
    uuid4,
)
from azul_dev.synth.protocols import make_protocols
from azul_dev.synth.vocabulary import (
    ASSAYS,
    BIOPSY,
    BLOOD_DRAW,
    HUMAN,
    HUMAN_AGES,
    MATRIX,
    MOUSE,
    MOUSE_AGES,
    MOUSE_STRAIN,
    NORMAL,
    ORGANS,
    PROJECT_ROLES,
    TAXON_IDS,
    WEEK,
    Assay,
    Organ,
    Term,
    fetal_stage,
)

#: Projects are submitted between the start of these two years, and their
#: bundles in the weeks after.
FIRST_YEAR, LAST_YEAR = 2019, 2024


@dataclass
class Project:
    id: str
    short_name: str
    doc: JSON
    date: str
    #: Microseconds since the epoch at which the project was submitted
    start: int
    species: Term
    organs: tuple[Organ, ...]
    assay: Assay
    nucleus: bool
    #: 'SRR' or 'ERR', depending on the archive the project deposited in
    run_prefix: str | None
    drs_prefix: str
    matrix_format: str
    donors: list[tuple[str, JSON]] = field(default_factory=list)
    #: Protocol entity type to (id, document)
    protocols: dict[str, tuple[str, JSON]] = field(default_factory=dict)
    #: (entity id, document, manifest entry) of each supplementary file
    supplementary: list[tuple[str, JSON, JSON]] = field(default_factory=list)


def _camel(text: str) -> str:
    return ''.join(word[:1].upper() + word[1:] for word in text.replace('-', ' ').split())


def _organ_name(organ: Organ) -> str:
    # The UBERON label is too formal for a title
    return 'skin' if organ.term[0] == 'skin of body' else organ.term[0]


def _person(rng: Random) -> tuple[str, str, str]:
    """
    Return the HCA-style name "Given,Middle,Surname", a short author name and
    the local part of an e-mail address.
    """
    given, surname = rng.choice(names.GIVEN_NAMES), rng.choice(names.SURNAMES)
    middle = rng.choice(names.MIDDLE_INITIALS)
    author = f'{surname} {given[0]}{middle}'
    email = f'{given}.{surname}'.lower().replace(' ', '').replace('ü', 'u')
    return f'{given},{middle},{surname}', author, email


def _contributors(rng: Random, count: int) -> tuple[list[JSON], list[str], str]:
    lab_institution = rng.choice(names.INSTITUTIONS[:-1])
    contributors, authors = [], []
    pi_surname = ''
    for i in range(count):
        name, author, email = _person(rng)
        curator = i == count - 1
        if curator:
            institution, laboratory = names.CURATOR_INSTITUTION, names.CURATOR_LABORATORY
            role, role_text = PROJECT_ROLES[3], 'Human Cell Atlas wrangler'
        else:
            institution = lab_institution if rng.random() < 0.8 else rng.choice(names.INSTITUTIONS)
            if i == 0:
                pi_surname = name.rsplit(',', 1)[1]
            laboratory = f'{pi_surname} Lab'
            role = PROJECT_ROLES[0] if i == 0 else rng.choice(PROJECT_ROLES[1:3])
            role_text = role[0].capitalize()
            authors.append(author)
        contributor = {
            'name': name,
            'email': f'{email}@{institution.email_domain}',
            'institution': institution.name,
            'laboratory': laboratory,
            'address': institution.address,
            'country': institution.country,
            'corresponding_contributor': i == 0,
            'project_role': onto(role, text=role_text),
        }
        if rng.random() < 0.5:
            digits = f'{rng.randint(1, 3)}{rng.randrange(10 ** 11):011d}'
            contributor['orcid_id'] = f'0000-000{digits[0]}-{digits[1:5]}-{digits[5:9]}'
        contributors.append(contributor)
    return contributors, authors, pi_surname


def _publication(rng: Random, title: str, authors: list[str], year: int) -> JSON:
    journal, doi_format = rng.choice(names.JOURNALS)
    doi = doi_format.format(yy=year % 100, n=rng.randrange(100000), c=rng.randrange(10),
                            mm=rng.randint(1, 12), dd=rng.randint(1, 28),
                            n3=rng.randrange(1000), n4=rng.randrange(10000),
                            n6=rng.randrange(1000000),
                            letters=hex_digits(rng, 2).translate(_HEX_TO_LETTERS))
    publication = {'authors': authors, 'title': title, 'doi': doi}
    if journal != 'bioRxiv':
        publication['pmid'] = rng.randint(30_000_000, 38_000_000)
    publication['url'] = f'https://doi.org/{doi}'
    publication['official_hca_publication'] = rng.random() < 0.3
    return publication


_HEX_TO_LETTERS = str.maketrans('0123456789abcdef', 'abcdefghijklmnop')


def _funders(rng: Random, year: int) -> list[JSON]:
    funders = []
    for organization, grant_title, grant_format in rng.sample(names.FUNDERS, rng.randint(1, 3)):
        grant_id = grant_format.format(n=rng.randrange(1_000_000), yy=year % 100 - 2,
                                       inst=rng.choice(('HG', 'AI', 'DK', 'MH')),
                                       letter=rng.choice('NPRS'))
        funders.append({'grant_title': grant_title, 'grant_id': grant_id,
                        'organization': organization})
    return funders


def _titles(rng: Random,
            species: Term,
            organ: Organ,
            disease: Term | None,
            fetal: bool,
            assay: Assay,
            surname: str) -> tuple[str, str]:
    if fetal:
        age = 'fetal'
    else:
        age = rng.choice(('adult', 'aging') if disease else ('adult', 'healthy adult', 'aging'))
    species_word = 'human' if species == HUMAN else 'mouse'
    organ_name = _organ_name(organ)
    fields = {
        'age': age,
        'species': species_word,
        'organ': organ_name,
        'adjective': organ.adjective,
        'disease': disease[0] if disease else '',
        'cell_type': rng.choice(organ.cell_types)[0],
    }
    templates = names.TITLE_TEMPLATES
    short_templates = names.SHORT_NAME_TEMPLATES
    if disease:
        templates, short_templates = names.DISEASE_TITLE_TEMPLATES, (
            short_templates + names.DISEASE_SHORT_NAME_TEMPLATES)
    elif fetal:
        templates = names.FETAL_TITLE_TEMPLATES
    title = rng.choice(templates).format(**fields)
    title = title[0].upper() + title[1:]
    short = rng.choice(short_templates).format(
        Age=_camel(age.split()[-1]),
        Species=_camel(species_word),
        Organ=_camel(organ_name),
        Disease=_camel(disease[0]) if disease else '',
        Surname=_camel(surname.replace(' ', '')),
        Assay=_camel(re.sub(r"[^A-Za-z0-9 ]", '', assay.method[0])),
    )
    return title, short


def _description(rng: Random, fields: dict[str, str]) -> str:
    sentences = [s for s in names.DESCRIPTION_SENTENCES
                 if fields['disease'] or '{disease}' not in s]
    return ' '.join(s.format(**fields) for s in sentences)


def make_project(rng: Random, bundles: int, used_short_names: dict[str, int]) -> Project:
    """
    Make a project for the given number of bundles. `used_short_names` counts
    the short names taken so far; a repeated name gets a numeric suffix, the
    way real catalogs end up with "HPSI human cerebral organoids2".
    """
    project_id = uuid4(rng)
    species = HUMAN if rng.random() < 0.85 else MOUSE
    organs = tuple(rng.sample(ORGANS, 2 if rng.random() < 0.2 else 1))
    organ = organs[0]
    fetal = species == HUMAN and rng.random() < 0.12
    if organ.diseases and not fetal and rng.random() < 0.5:
        disease = rng.choice(organ.diseases)
    else:
        disease = None
    assay = rng.choice(ASSAYS)
    start = micros(FIRST_YEAR) + rng.randrange((LAST_YEAR - FIRST_YEAR) * 365) * DAY_MICROS
    start += rng.randrange(DAY_MICROS)
    date = timestamp(start)
    year = FIRST_YEAR + (start - micros(FIRST_YEAR)) // (365 * DAY_MICROS)

    contributors, authors, pi = _contributors(rng, rng.randint(3, 9))
    title, short_name = _titles(rng, species, organ, disease, fetal, assay, pi)
    count = used_short_names.get(short_name, 0) + 1
    used_short_names[short_name] = count
    if count > 1:
        short_name = f'{short_name}{count}'
    donor_count = max(1, min(40, round(bundles / rng.uniform(2, 6))))
    # Smart-seq2 bundles hold a single cell each
    cells = bundles if assay.kind == 'plate' else bundles * rng.choice((3000, 6000, 10000))
    body: JSON = {
        'project_core': {
            'project_short_name': short_name,
            'project_title': title,
            'project_description': _description(rng, {
                'organ': _organ_name(organ), 'donors': str(donor_count),
                'assay': assay.method[0], 'cells': f'{cells:,}',
                'clusters': str(rng.randint(8, 60)),
                'cell_type': rng.choice(organ.cell_types)[0],
                'disease': disease[0] if disease else '', 'adjective': organ.adjective,
                'species': 'human' if species == HUMAN else 'mouse',
            }),
        },
        'contributors': contributors,
        'funders': _funders(rng, year),
        'estimated_cell_count': cells,
    }
    if rng.random() < 0.7:
        body['publications'] = [_publication(rng, title, authors, year)]
    archive = rng.random()
    run_prefix = None
    if archive < 0.45:
        body['geo_series_accessions'] = [f'GSE{rng.randint(100000, 249999)}']
        body['insdc_project_accessions'] = [f'PRJNA{rng.randint(400000, 999999)}']
        body['insdc_study_accessions'] = [f'SRP{rng.randint(100000, 399999)}']
        run_prefix = 'SRR'
    elif archive < 0.75:
        body['array_express_accessions'] = [f'E-MTAB-{rng.randint(5000, 13999)}']
        body['insdc_project_accessions'] = [f'PRJEB{rng.randint(20000, 69999)}']
        run_prefix = 'ERR'
    if rng.random() < 0.2:
        lab = _camel(pi).lower()
        body['supplementary_links'] = [f'https://github.com/{lab}-lab/{short_name}']
    project = Project(
        id=project_id,
        short_name=short_name,
        doc=document('project', project_id, date, body),
        date=date,
        start=start,
        species=species,
        organs=organs,
        assay=assay,
        nucleus=organ.term[0] in ('brain', 'heart') and rng.random() < 0.6,
        run_prefix=run_prefix,
        drs_prefix=f'drs://data.synth.lan/v1_{uuid4(rng)}_',
        matrix_format='h5ad' if rng.random() < 0.3 else 'loom',
    )
    diseases = (NORMAL, disease) if disease else (NORMAL,)
    for i in range(donor_count):
        project.donors.append(_donor(rng, project, i, fetal, rng.choice(diseases)))
    project.protocols = make_protocols(rng, project.organs[0], assay, project.nucleus,
                                       species, date)
    _add_supplementary(rng, project)
    return project


#: Most donors are adults
_HUMAN_AGE_WEIGHTS = (80, 6, 6, 4, 4)


def _donor(rng: Random,
           project: Project,
           index: int,
           fetal: bool,
           disease: Term) -> tuple[str, JSON]:
    donor_id = uuid4(rng)
    species = project.species
    if species == MOUSE:
        unit, low, high, stage = rng.choice(MOUSE_AGES)
    elif fetal:
        unit, low, high, stage = HUMAN_AGES[-1]
    else:
        unit, low, high, stage = rng.choices(HUMAN_AGES[:-1], _HUMAN_AGE_WEIGHTS)[0]
    age = rng.randint(low, high)
    organism_age = str(age)
    if unit == WEEK and species == HUMAN:
        stage = fetal_stage(age)
    elif unit[0] == 'year' and age >= 20 and rng.random() < 0.2:
        # Some submitters only disclose age ranges, for privacy
        organism_age = f'{age - age % 5}-{age - age % 5 + 4}'
    label = f'{project.short_name[:12]}_D{index + 1}'
    living = species == HUMAN and not fetal and project.organs[0].collection[0] in (
        BLOOD_DRAW, BIOPSY)
    body: JSON = {
        'biomaterial_core': {
            'biomaterial_id': label,
            'biomaterial_name': label.replace('_', ' '),
            'biomaterial_description': f'{species[0]} donor, {stage[0]}',
            'ncbi_taxon_id': [TAXON_IDS[species]],
        },
        'genus_species': [onto(species)],
        'sex': rng.choice(('female', 'male', 'female', 'male', 'unknown')),
        'is_living': 'yes' if living else 'no',
        'organism_age': organism_age,
        'organism_age_unit': onto(unit),
        'development_stage': onto(stage),
        'diseases': [onto(disease)],
    }
    if body['is_living'] == 'no':
        if species == MOUSE:
            cause = 'euthanasia'
        elif fetal:
            cause = 'Medical termination of pregnancy'
        else:
            cause = rng.choice(('cardiac arrest', 'stroke', 'trauma', 'respiratory failure'))
        body['death'] = {'cause_of_death': cause}
    if fetal:
        body['gestational_age'] = organism_age
        body['gestational_age_unit'] = onto(unit)
    if species == MOUSE:
        body['mouse_specific'] = {'strain': [onto(MOUSE_STRAIN)]}
    return donor_id, document('donor_organism', donor_id, project.date, body)


def _add_supplementary(rng: Random, project: Project) -> None:
    protocols = rng.sample(names.SUPPLEMENTARY_PROTOCOLS, rng.randint(1, 2))
    files = [(name, 'pdf', 'application/pdf', description, rng.randint(20_000, 900_000))
             for name, description in protocols]
    if rng.random() < 0.4:
        files.append((f'{project.short_name}_matrix.zip', 'zip', 'application/zip',
                      'Contributor-generated matrix', rng.randint(5_000_000, 400_000_000)))
    for file_name, file_format, content_type, description, size in files:
        file_id = uuid4(rng)
        file_core: JSON = {'file_name': file_name, 'format': file_format}
        if file_format == 'zip':
            file_core['content_description'] = [onto(MATRIX, text=description)]
        doc = document('supplementary_file', file_id, project.date, {
            'file_core': file_core,
            'file_description': description,
        })
        entry = manifest_entry(rng, file_name, size, content_type, project.date,
                               project.drs_prefix)
        project.supplementary.append((file_id, doc, entry))
