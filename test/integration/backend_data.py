"""
A small, deterministic data set for the backend conformance and property
tests: a registry covering every `FieldType` and a few dozen aggregates with
nulls, multi-valued fields, ties and missing values.

Numbers are integers or multiples of 0.25, so that every sum is exact in
binary floating point and backends may add them up in any order.
"""
import contextlib
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from random import Random
from typing import Any

from azul.backends.base import AggregateWrite, SearchBackend
from azul.core.documents import Aggregate, BundleFQID, Contribution, IndexedAggregate
from azul.core.fields import Field, FieldRegistry, FieldType, ObjectShape, Value
from azul_testing import make_backend

CATALOG = 'test'
ENTITY_TYPE = 'files'
OTHER_ENTITY_TYPE = 'samples'
NUM_DOCS = 48

FIELDS = (
    Field('entryId', FieldType.keyword, 'entity_id'),
    Field('fileFormat', FieldType.keyword, 'contents.files.format', facet=True),
    Field('organ', FieldType.keyword, 'contents.specimens.organ', facet=True),
    Field('fileSize', FieldType.long, 'contents.files.size'),
    Field('donorCount', FieldType.long, 'contents.donors.count', facet=True),
    Field('cellCount', FieldType.double, 'contents.cell_suspensions.cells', facet=True),
    Field('isIntermediate', FieldType.boolean, 'contents.files.is_intermediate', facet=True),
    Field('lastModified', FieldType.date, 'contents.dates.modified'),
    Field('accessions', FieldType.object, 'contents.projects.accessions', facet=True),
    # The same, matched partially as the original matches its `nested` accessions
    Field('accessionParts', FieldType.object, 'contents.projects.accessions', sortable=False,
          shape=ObjectShape(('namespace', 'accession'), nullable=('namespace', 'accession'),
                            partial=True)),
    Field('organismAgeRange', FieldType.range, 'contents.donors.age_range', facet=True),
    Field('projectId', FieldType.keyword, 'contents.projects.document_id', facet=True),
    Field('description', FieldType.keyword, 'contents.files.description', sortable=False),
    # No document has a value: every document holds the null term only
    Field('unused', FieldType.keyword, 'contents.nothing.here', facet=True),
)

_formats = ['fastq.gz', 'bam', 'loom', 'h5ad', 'tsv']
_organs = ['brain', 'blood', 'liver', 'heart', 'Brain', 'lung']
_dates = ['2019-01-01T00:00:00.000000Z', '2020-06-15T12:30:00.000000Z',
          '2021-03-03T03:03:03.000000Z', '2018-12-31T23:59:59.999999Z']
_accessions = [{'namespace': 'geo', 'accession': 'GSE1'},
               {'namespace': 'geo', 'accession': 'GSE2'},
               {'namespace': 'insdc', 'accession': 'PRJ9'},
               {'accession': 'E-1', 'namespace': 'array_express'}]
_ranges = [(0, 10), (5, 20), (5, 20), (18, 30), (100, 1000), (0, 0), (-5, 3)]


def registry() -> FieldRegistry:
    return FieldRegistry(FIELDS)


def entity_id(rng: Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _maybe(rng: Random, p_missing: float, value: Any) -> Any:
    return None if rng.random() < p_missing else value


def _contents(rng: Random, project_ids: Sequence[str]) -> dict[str, Any]:
    files = [{
        'format': _maybe(rng, 0.1, rng.choice(_formats)),
        # Few distinct sizes, so that sorting by size has ties
        'size': _maybe(rng, 0.15, rng.choice([0, 1000, 2000, 2000, 5000, 123456789])),
        'is_intermediate': _maybe(rng, 0.2, rng.random() < 0.4),
        'description': _maybe(rng, 0.3, rng.choice(['raw', 'processed', 'matrix'])),
    }]
    specimens = [{'organ': _maybe(rng, 0.15, rng.choice(_organs))}
                 for _ in range(rng.choice([0, 1, 1, 2, 3]))]
    donors = [{
        'count': _maybe(rng, 0.2, rng.choice([1, 2, 2, 3, 10])),
        'age_range': [{'gte': lo, 'lte': hi}
                      for lo, hi in rng.sample(_ranges, rng.choice([0, 1, 2]))],
    } for _ in range(rng.choice([1, 1, 2]))]
    suspensions = [{'cells': _maybe(rng, 0.2, rng.choice([0.5, 1.25, 100.0, 2500.75, 1e6]))}
                   for _ in range(rng.choice([0, 1, 2]))]
    projects = [{
        'document_id': rng.choice(project_ids),
        'accessions': rng.sample(_accessions, rng.choice([0, 1, 2])),
    }]
    dates = {'modified': _maybe(rng, 0.1, rng.choice(_dates))}
    return {'files': files, 'specimens': specimens, 'donors': donors,
            'cell_suspensions': suspensions, 'projects': projects, 'dates': dates}


def make_aggregate(rng: Random, entity_type: str, project_ids: Sequence[str]) -> Aggregate:
    bundle = BundleFQID(entity_id(rng), '2020-01-01T00:00:00.000000Z')
    return Aggregate(entity_type=entity_type,
                     entity_id=entity_id(rng),
                     contents=_contents(rng, project_ids),
                     bundles=(bundle,),
                     sources=('source-a',),
                     num_contributions=1)


def index(reg: FieldRegistry, aggregate: Aggregate) -> IndexedAggregate:
    return IndexedAggregate(aggregate, reg.extract(aggregate.to_json()))


def documents(count: int = NUM_DOCS, seed: int = 42) -> list[IndexedAggregate]:
    rng = Random(seed)
    reg = registry()
    project_ids = [entity_id(rng) for _ in range(4)]
    return [index(reg, make_aggregate(rng, ENTITY_TYPE, project_ids)) for _ in range(count)]


def replace_aggregates(backend: SearchBackend, catalog: str, entity_type: str,
                       docs: Sequence[IndexedAggregate], deleted: Sequence[str] = ()) -> None:
    """Write the documents over the stored ones and delete those ids, all of which must succeed."""
    ids = [d.entity_id for d in docs] + list(deleted)
    versions = backend.read_versions(catalog, entity_type, ids)
    writes = [AggregateWrite(d.entity_id, d, versions.get(d.entity_id)) for d in docs]
    writes += [AggregateWrite(entity_id, None, versions[entity_id]) for entity_id in deleted]
    assert backend.write_aggregates(catalog, entity_type, writes) == []


def observed_values(docs: Sequence[IndexedAggregate], field: Field) -> list[Value]:
    """The distinct values of the field in the data, None included, in a stable order."""
    values = dict.fromkeys(v for d in docs for v in d.fields[field.name])
    return sorted(values, key=lambda v: (v is None, repr(v)))


def unseen_values(field: Field) -> list[Value]:
    """Values of the field's type that no document holds."""
    return {
        FieldType.keyword: ['kidney', ''],
        FieldType.long: [7, -1],
        FieldType.double: [3.5, -0.25],
        FieldType.boolean: [],
        FieldType.date: ['1999-09-09T09:09:09.000000Z'],
        FieldType.object: ['{"accession":"X","namespace":"none"}'],
        FieldType.range: [(1.0, 2.0), (7.0, 7.0)],
    }[field.type]


def contributions(count: int = 6, seed: int = 7) -> list[Contribution]:
    rng = Random(seed)
    result = []
    entity_ids = [entity_id(rng) for _ in range(2)]
    for i in range(count):
        bundle = BundleFQID(entity_id(rng), f'2021-0{1 + i % 9}-01T00:00:00.000000Z')
        result.append(Contribution(entity_type=ENTITY_TYPE if i % 3 else OTHER_ENTITY_TYPE,
                                   entity_id=entity_ids[i % 2],
                                   bundle=bundle,
                                   source='source-a',
                                   deleted=i == 4,
                                   contents={'files': [{'document_id': str(i), 'n': i}]}))
    return result


@contextlib.contextmanager
def loaded_backend(kind: str, tmp_path: Path, reg: FieldRegistry,
                   docs: Sequence[IndexedAggregate]) -> Iterator[SearchBackend]:
    """A fresh backend of the given kind holding `docs`, dropped afterwards."""
    backend = make_backend(kind, tmp_path, 't' + uuid.uuid4().hex[:10])
    try:
        backend.create_indices(CATALOG, [ENTITY_TYPE], reg)
        writes = [AggregateWrite(d.entity_id, d, None) for d in docs]
        assert backend.write_aggregates(CATALOG, ENTITY_TYPE, writes) == []
        yield backend
    finally:
        backend.drop_deployment()
        backend.close()


# Ten documents of colors, flags, sizes and names for the DuckDB tests of
# kept counts and bitmaps: ties in name and size (broken by entity id), and
# documents without a size, a color or a flag
COLORED = (('a', dict(color='red', flag=True, size=3, name='n1')),
           ('b', dict(color=['red', 'blue'], flag=False, size=5, name='n2')),
           ('c', dict(color='blue', flag=True, size=3, name='n1')),
           ('d', dict(color='red', flag=True, name='n3')),
           ('e', dict(color='green', flag=True, size=8, name='n2')),
           ('f', dict(color='red', flag=[True, False], size=1, name='n4')),
           ('g', dict(flag=True, size=2, name='n5')),
           ('h', dict(color=['red', 'green'], flag=True, size=9, name='n1')),
           ('i', dict(color='red', size=4, name='n6')),
           ('j', dict(color='blue', flag=True, size=7, name='n2')))


def colored_doc(registry: FieldRegistry, entity_id: str, **contents) -> IndexedAggregate:
    aggregate = Aggregate(ENTITY_TYPE, entity_id, contents, (), (), 1)
    return IndexedAggregate(aggregate, registry.extract(aggregate.to_json()))


def colored_docs(registry: FieldRegistry) -> tuple[IndexedAggregate, ...]:
    return tuple(colored_doc(registry, entity_id, **contents) for entity_id, contents in COLORED)
