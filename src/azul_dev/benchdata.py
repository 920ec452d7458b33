"""
Synthetic file aggregates for backend benchmarks, shaped like the HCA `files`
index: about twenty facets with skewed, partly multi-valued keyword values,
a few numbers, a date and an age range. Documents are grouped into projects
whose values they share, so that filters correlate as they do in real data.

`generate` streams: memory stays flat however many documents are asked for.
"""
from collections.abc import Iterator
from random import Random

from azul.core.documents import Aggregate, BundleFQID, IndexedAggregate
from azul.core.fields import Field, FieldRegistry, FieldType, Value
from azul.core.filters import Filters, Is
from azul.core.search import Cardinality, Count, Sum, SummaryRequest, Terms

ENTITY_TYPE = 'files'

# Facet name -> (vocabulary size, maximum values per document, probability of no value)
KEYWORD_FACETS: dict[str, tuple[int, int, float]] = {
    'fileFormat': (25, 1, 0.0),
    'fileSource': (8, 1, 0.1),
    'contentDescription': (40, 2, 0.2),
    'genusSpecies': (4, 2, 0.01),
    'organ': (60, 3, 0.05),
    'organPart': (300, 3, 0.3),
    'sampleEntityType': (4, 2, 0.0),
    'biologicalSex': (4, 2, 0.05),
    'developmentStage': (80, 2, 0.2),
    'specimenDisease': (150, 2, 0.1),
    'donorDisease': (150, 2, 0.1),
    'libraryConstructionApproach': (30, 2, 0.05),
    'instrumentManufacturerModel': (25, 2, 0.05),
    'nucleicAcidSource': (3, 1, 0.1),
    'workflow': (40, 2, 0.4),
    'selectedCellType': (200, 3, 0.6),
    'institution': (400, 3, 0.0),
    'laboratory': (800, 3, 0.0),
    'projectTitle': (0, 1, 0.0),  # one per project
    'projectId': (0, 1, 0.0),
    'preservationMethod': (10, 1, 0.3),
}
# Candidate values a project draws from, per facet
_PER_PROJECT = 4


def registry() -> FieldRegistry:
    fields = [Field('fileId', FieldType.keyword, 'entity_id'),
              Field('fileName', FieldType.keyword, 'contents.fileName')]
    fields += [Field(name, FieldType.keyword, f'contents.{name}', facet=True)
               for name in KEYWORD_FACETS]
    fields += [
        Field('isIntermediate', FieldType.boolean, 'contents.isIntermediate', facet=True),
        Field('pairedEnd', FieldType.boolean, 'contents.pairedEnd', facet=True),
        Field('fileSize', FieldType.long, 'contents.fileSize'),
        Field('cellCount', FieldType.double, 'contents.cellCount'),
        Field('donorCount', FieldType.long, 'contents.donorCount', facet=True),
        Field('lastModified', FieldType.date, 'contents.lastModified'),
        Field('organismAgeRange', FieldType.range, 'contents.organismAgeRange', facet=True),
    ]
    return FieldRegistry(tuple(fields))


def _skewed(rng: Random, n: int) -> int:
    # Roughly Zipfian: index 0 is by far the most common
    return int(n * rng.random() ** 3)


def _project(seed: int, index: int) -> dict[str, list[str]]:
    rng = Random(seed * 1_000_003 + index)
    project_id = f'{index:08x}-0000-4000-8000-{seed:012x}'
    result = {'projectId': [project_id], 'projectTitle': [f'Project {index}: a study of '
                                                          f'{rng.randrange(10_000)} cells']}
    for name, (size, _, _) in KEYWORD_FACETS.items():
        if size:
            result[name] = [f'{name} {_skewed(rng, size)}' for _ in range(_PER_PROJECT)]
    return result


def generate(count: int, seed: int = 1) -> Iterator[IndexedAggregate]:
    rng = Random(seed)
    projects: dict[int, dict[str, list[str]]] = {}
    num_projects = max(1, count // 500)
    ages = [(0.0, 0.0), (1e6, 2e6), (3e8, 6e8), (6e8, 9e8), (9e8, 2e9), (2e9, 3e9)]
    for i in range(count):
        p = _skewed(rng, num_projects)
        project = projects.get(p)
        if project is None:
            project = projects[p] = _project(seed, p)
        fields: dict[str, tuple[Value, ...]] = {}
        for name, (_, most, p_none) in KEYWORD_FACETS.items():
            if rng.random() < p_none:
                fields[name] = (None,)
            else:
                k = 1 if most == 1 or rng.random() < 0.7 else rng.randint(2, most)
                values = project[name]
                fields[name] = tuple(dict.fromkeys(values[_skewed(rng, len(values))]
                                                   for _ in range(k)))
        a, b, c, d = (rng.getrandbits(n) for n in (32, 16, 12, 12))
        entity_id = f'{a:08x}-{b:04x}-4{c:03x}-8{d:03x}-{i:012x}'
        intermediate = rng.random() < 0.2
        fields['fileId'] = (entity_id,)
        fields['fileName'] = (f'{entity_id[:8]}_{i}.{fields["fileFormat"][0]}',)
        fields['isIntermediate'] = (intermediate,)
        fields['pairedEnd'] = (None,) if rng.random() < 0.3 else (rng.random() < 0.5,)
        fields['fileSize'] = (int(rng.lognormvariate(18, 2)),)
        fields['cellCount'] = (None,) if rng.random() < 0.4 else (
            float(int(rng.lognormvariate(8, 2))),)
        fields['donorCount'] = (rng.choice([1, 1, 1, 2, 3, 5, 10, 20]),)
        year, month, day = 18 + _skewed(rng, 7), 1 + rng.randrange(12), 1 + rng.randrange(28)
        fields['lastModified'] = (f'20{year:02d}-{month:02d}-{day:02d}T00:00:00.000000Z',)
        fields['organismAgeRange'] = tuple(dict.fromkeys(
            ages[_skewed(rng, len(ages))] for _ in range(rng.choice([1, 1, 1, 2]))))
        yield IndexedAggregate(_aggregate(entity_id, i, fields), fields)


def _aggregate(entity_id: str, i: int, fields: dict[str, tuple[Value, ...]]) -> Aggregate:
    # The document holds the projection at the registry's paths (see `registry`), so that
    # `FieldRegistry.extract` of it gives `fields` back
    contents = {}
    for name, values in fields.items():
        if name == 'fileId':
            continue
        present = [v for v in values if v is not None]
        if name == 'organismAgeRange':
            present = [{'gte': lo, 'lte': hi} for lo, hi in present]
        contents[name] = present
    return Aggregate(entity_type=ENTITY_TYPE, entity_id=entity_id, contents=contents,
                     bundles=(BundleFQID(f'{i // 10:08x}-0000-4000-8000-000000000000',
                                         '2021-01-01T00:00:00.000000Z'),),
                     sources=('bench',), num_contributions=1)


def filtered(reg: FieldRegistry) -> Filters:
    """Three filters a user might click: the common species, two organs and a format."""
    return Filters((Is(reg['genusSpecies'], ('genusSpecies 0',)),
                    Is(reg['organ'], ('organ 0', 'organ 1')),
                    Is(reg['fileFormat'], ('fileFormat 0', 'fileFormat 1', 'fileFormat 2'))))


def one_filter(reg: FieldRegistry) -> Filters:
    """One filter, the most common click: two organs."""
    return Filters((Is(reg['organ'], ('organ 0', 'organ 1')),))


def summary_request(reg: FieldRegistry, filters: Filters = Filters()) -> SummaryRequest:
    """The aggregations of `/index/summary`."""
    return SummaryRequest(ENTITY_TYPE, filters, (
        Count('fileCount'),
        Sum('totalFileSize', reg['fileSize']),
        Sum('totalCellCount', reg['cellCount']),
        Cardinality('projectCount', reg['projectId']),
        Cardinality('speciesCount', reg['genusSpecies']),
        Cardinality('labCount', reg['laboratory']),
        Terms('fileTypeSummaries', reg['fileFormat'], sums=(reg['fileSize'],)),
        Terms('cellCountSummaries', reg['organ'], sums=(reg['cellCount'],)),
        Terms('projects', reg['projectTitle'], sums=(reg['cellCount'],),
              distinct=(reg['projectId'],)),
    ))
