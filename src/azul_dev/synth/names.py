"""
Real-sounding people, institutions, funders and phrases for synthetic
projects. The institutions and funders are real; the people are invented
combinations of common given names and surnames.
"""
from dataclasses import dataclass

GIVEN_NAMES = (
    'Aisha', 'Alejandro', 'Amelia', 'Ananya', 'Anders', 'Astrid', 'Benjamin', 'Carlos',
    'Chen', 'Chiara', 'Daniel', 'Elena', 'Emma', 'Fatima', 'Felix', 'Gabriel', 'Hannah',
    'Hiroshi', 'Ines', 'Isaac', 'Jakob', 'Jia', 'Joanna', 'Jonas', 'Julia', 'Kenji',
    'Laura', 'Leila', 'Lucas', 'Maria', 'Mateo', 'Mei', 'Mohammed', 'Nadia', 'Nikolai',
    'Noah', 'Olga', 'Omar', 'Priya', 'Rafael', 'Rahul', 'Sara', 'Sofia', 'Tariq',
    'Thomas', 'Wei', 'Yara', 'Yuki', 'Zainab', 'Zhen',
)
SURNAMES = (
    'Andersson', 'Bauer', 'Bianchi', 'Chen', 'Costa', 'Dubois', 'Eriksson', 'Fischer',
    'Garcia', 'Gupta', 'Haddad', 'Hansen', 'Ito', 'Jansen', 'Kaur', 'Kim', 'Kowalski',
    'Li', 'Lopez', 'Martin', 'Meyer', 'Moreau', 'Müller', 'Nakamura', 'Nguyen', 'Novak',
    'Okafor', 'Olsen', 'Patel', 'Petrov', 'Ramirez', 'Rossi', 'Sato', 'Schmidt', 'Silva',
    'Singh', 'Smith', 'Suzuki', 'Tanaka', 'Van der Berg', 'Wang', 'Weber', 'Williams',
    'Wong', 'Yamamoto', 'Yilmaz', 'Zhang', 'Zhou',
)
MIDDLE_INITIALS = ('', '', '', 'A', 'J', 'K', 'M', 'R', 'S')


@dataclass(frozen=True)
class Institution:
    name: str
    address: str
    country: str
    email_domain: str


INSTITUTIONS = (
    Institution('Wellcome Sanger Institute',
                'Wellcome Genome Campus, Hinxton, Saffron Walden CB10 1SA', 'UK', 'sanger.ac.uk'),
    Institution('University of Cambridge', 'Cambridge Biomedical Campus, Cambridge CB2 0QH',
                'UK', 'cam.ac.uk'),
    Institution('Newcastle University', 'Framlington Place, Newcastle upon Tyne NE2 4HH', 'UK',
                'ncl.ac.uk'),
    Institution('Broad Institute of MIT and Harvard', '415 Main Street, Cambridge, MA 02142',
                'USA', 'broadinstitute.org'),
    Institution('Stanford University', '291 Campus Drive, Stanford, CA 94305', 'USA',
                'stanford.edu'),
    Institution('University of California San Francisco', '513 Parnassus Ave, San Francisco, '
                'CA 94143', 'USA', 'ucsf.edu'),
    Institution('Chan Zuckerberg Biohub', '499 Illinois Street, San Francisco, CA 94158', 'USA',
                'czbiohub.org'),
    Institution('New York Genome Center', '101 Avenue of the Americas, New York, NY 10013',
                'USA', 'nygenome.org'),
    Institution('University of Washington', '1959 NE Pacific St, Seattle, WA 98195', 'USA',
                'uw.edu'),
    Institution('Karolinska Institutet', 'Solnavägen 1, 171 77 Stockholm', 'Sweden', 'ki.se'),
    Institution('Weizmann Institute of Science', '234 Herzl Street, Rehovot 7610001', 'Israel',
                'weizmann.ac.il'),
    Institution('Max Delbrück Center for Molecular Medicine', 'Robert-Rössle-Str. 10, '
                '13125 Berlin', 'Germany', 'mdc-berlin.de'),
    Institution('RIKEN Center for Integrative Medical Sciences', '1-7-22 Suehiro-cho, '
                'Tsurumi-ku, Yokohama 230-0045', 'Japan', 'riken.jp'),
    Institution('Institut Pasteur', '25-28 Rue du Docteur Roux, 75015 Paris', 'France',
                'pasteur.fr'),
    Institution('KU Leuven', 'Herestraat 49, 3000 Leuven', 'Belgium', 'kuleuven.be'),
    Institution('University of Toronto', '1 King\'s College Circle, Toronto, ON M5S 1A8',
                'Canada', 'utoronto.ca'),
    Institution('Garvan Institute of Medical Research', '384 Victoria Street, Darlinghurst '
                'NSW 2010', 'Australia', 'garvan.org.au'),
    Institution('Genome Institute of Singapore', '60 Biopolis Street, Singapore 138672',
                'Singapore', 'gis.a-star.edu.sg'),
    Institution('European Bioinformatics Institute',
                'Wellcome Genome Campus, Hinxton, Saffron Walden CB10 1SD', 'UK', 'ebi.ac.uk'),
)

#: The data curators (wranglers) of a project are staff of the DCP.
CURATOR_INSTITUTION = INSTITUTIONS[-1]
CURATOR_LABORATORY = 'Human Cell Atlas Data Coordination Platform'

FUNDERS = (
    ('Wellcome Trust', 'Wellcome Trust Strategic Award', '{n:06d}/Z/{yy}/Z'),
    ('Chan Zuckerberg Initiative', 'CZI Seed Network for the Human Cell Atlas', 'CZF2019-{n:06d}'),
    ('National Institutes of Health', 'NIH research project grant', 'R01{inst}{n:06d}'),
    ('Medical Research Council', 'MRC research grant', 'MR/{letter}{n:06d}/1'),
    ('European Research Council', 'ERC Consolidator Grant', 'ERC-CoG-{n:06d}'),
    ('Deutsche Forschungsgemeinschaft', 'DFG research grant', 'DFG {n:06d}'),
    ('Japan Agency for Medical Research and Development', 'AMED research grant', 'JP{yy}{n:06d}'),
)

#: Journal names and the DOI prefix of their articles
JOURNALS = (
    ('Nature', '10.1038/s41586-0{yy}-{n:05d}-{c}'),
    ('Cell', '10.1016/j.cell.20{yy}.{mm:02d}.{n3:03d}'),
    ('Science', '10.1126/science.a{letters}{n4:04d}'),
    ('Nature Communications', '10.1038/s41467-0{yy}-{n:05d}-{c}'),
    ('Nature Medicine', '10.1038/s41591-0{yy}-{n:05d}-{c}'),
    ('bioRxiv', '10.1101/20{yy}.{mm:02d}.{dd:02d}.{n6:06d}'),
)

#: Project titles: for any project, for projects studying a disease and for
#: projects of fetal tissue
TITLE_TEMPLATES = (
    'A single-cell transcriptome atlas of the {age} {species} {organ}',
    'Spatio-temporal immune zonation of the {age} {species} {organ}',
    'Cellular heterogeneity of the {age} {species} {organ} at single-cell resolution',
    'Profiling of {cell_type} populations from the {age} {species} {organ}',
)
DISEASE_TITLE_TEMPLATES = (
    'Single-cell RNA sequencing of the {age} {species} {organ} in {disease}',
    'Single-nucleus transcriptomics reveals {adjective} cell states in {disease}',
    'An integrated cell atlas of the {species} {organ} across health and {disease}',
)
FETAL_TITLE_TEMPLATES = (
    'Decoding the development of the {species} {organ} with single-cell genomics',
    'A single-cell atlas of the developing {species} {organ}',
)
SHORT_NAME_TEMPLATES = (
    '{Age}{Species}{Organ}Atlas',
    '{Surname}{Age}{Organ}',
    '{Species}{Organ}CellCensus',
    '{Organ}{Assay}',
)
DISEASE_SHORT_NAME_TEMPLATES = (
    '{Organ}{Disease}',
    '{Disease}{Organ}Atlas',
    '{Surname}{Disease}',
)
DESCRIPTION_SENTENCES = (
    'We performed single-cell RNA sequencing of {organ} samples from {donors} donors to '
    'characterise the cellular composition of the tissue.',
    'Cells were dissociated, sorted and profiled with {assay}, yielding {cells} single-cell '
    'transcriptomes.',
    'Unsupervised clustering identified {clusters} transcriptionally distinct populations, '
    'including {cell_type}.',
    'Comparison of {disease} with healthy tissue revealed disease-associated changes in '
    '{adjective} cell states.',
    'All data and annotations are available for interactive exploration through a web portal.',
    'This resource provides a reference map for future studies of the {species} {organ}.',
)

SUPPLEMENTARY_PROTOCOLS = (
    ('TissueDissociationProtocol.pdf', 'Tissue dissociation protocol'),
    ('LibraryPreparationProtocol.pdf', 'Library preparation according to the manufacturer'),
    ('SequencingProtocol.pdf', 'Sequencing protocol'),
    ('SampleCollectionSOP.pdf', 'Standard operating procedure for sample collection'),
)
