"""
Matrix stratification, as the original Azul does it: a matrix file covers one
or more *strata*, each a set of values per dimension (species, development
stage, organ, library construction approach), written as a string

    genusSpecies=Homo sapiens;organ=blood,brain\\ngenusSpecies=Mus musculus

(one line per stratum, `;` between dimensions, `,` between values). A
project's `matrices` and `contributedAnalyses` are trees of its matrix files
keyed alternately by dimension and value.
"""
import re
from collections.abc import Iterable, Mapping, Sequence
from itertools import product
from typing import Any

from azul.plugins.metadata.hca import transform_entities as inner
from azul.plugins.metadata.hca.model import Entity

JSON = dict[str, Any]

DIMENSIONS = ('genusSpecies', 'developmentStage', 'organ', 'libraryConstructionApproach')

_value_re = re.compile(r'[^,=;\n]+')


def strata_string(seen: Mapping[str, Sequence[Entity]], samples: Iterable[Entity]) -> str:
    """The strata of a matrix made from what a visit of the file has seen."""
    donors = [inner.donor(d) for d in seen['donor_organism']]
    points = {
        'genusSpecies': {g for d in donors for g in d['genus_species']},
        'developmentStage': {d['development_stage'] for d in donors
                             if d['development_stage'] is not None},
        'organ': {inner.sample(s)['effective_organ'] for s in samples},
        'libraryConstructionApproach': {
            inner.library_preparation_protocol(p)['library_construction_approach']
            for p in seen['library_preparation_protocol']
        },
    }
    strings = []
    for dimension, values in points.items():
        # The original rejects values that would break the syntax; they are
        # left out here rather than failing the bundle
        values = {v for v in values if isinstance(v, str) and _value_re.fullmatch(v)}
        if values:
            strings.append(dimension + '=' + ','.join(sorted(values)))
    return ';'.join(strings)


def parse_strata(strata: str) -> list[dict[str, list[str]]]:
    result = []
    for stratum in strata.split('\n'):
        points = {}
        for point in stratum.split(';'):
            dimension, sep, values = point.partition('=')
            if sep:
                points[dimension] = values.split(',')
        result.append(points)
    return result


def strata_entities(file: Entity, file_name: str | None) -> dict[str, list[JSON]]:
    """
    The donors, specimens and library preparation protocols that a project
    level matrix (a supplementary file) states in its `file_description`, so
    that filters by species or organ find it.
    """
    contents: dict[str, list[JSON]] = {'donors': [], 'specimens': [],
                                       'library_preparation_protocols': []}
    description = file.content.get('file_description')
    if not isinstance(description, str) or not description:
        return contents
    for stratum in parse_strata(description):
        donor = {}
        if 'genusSpecies' in stratum:
            donor['genus_species'] = sorted(stratum['genusSpecies'])
        if 'developmentStage' in stratum:
            donor['development_stage'] = sorted(stratum['developmentStage'])
        if donor:
            donor['biomaterial_id'] = f'donor_organism_{file_name}'
            contents['donors'].append(donor)
        for i, organ in enumerate(sorted(stratum.get('organ', ()))):
            contents['specimens'].append({
                'biomaterial_id': f'specimen_from_organism_{i}_{file_name}',
                'organ': organ,
            })
        if 'libraryConstructionApproach' in stratum:
            contents['library_preparation_protocols'].append({
                'library_construction_approach': sorted(stratum['libraryConstructionApproach'])
            })
    return contents


def stratification_tree(files: Sequence[Mapping[str, Any]]) -> JSON:
    """
    The tree of the given matrix files (each with a `strata` string), its
    dimensions ordered by how many distinct values they have, then by
    `DIMENSIONS`; a stratum without a dimension is placed under
    `Unspecified`. A file covering several strata appears once per stratum.
    """
    expanded = []
    for file in files:
        strata = []
        for stratum in parse_strata(file['strata']):
            for combination in product(*([(d, v) for v in values]
                                         for d, values in stratum.items())):
                strata.append(dict(combination))
        leaf = {k: v for k, v in file.items() if k != 'strata'}
        leaf['drs_uri'] = file.get('drs_uri')
        expanded.append((leaf, strata))
    distinct: dict[str, set[str]] = {}
    for _, strata in expanded:
        for stratum in strata:
            for dimension, value in stratum.items():
                distinct.setdefault(dimension, set()).add(value)
    order = {d: i for i, d in enumerate(DIMENSIONS)}
    dimensions = sorted(distinct, key=lambda d: (len(distinct[d]), order.get(d, len(order))))
    tree: JSON = {}
    for leaf, strata in expanded:
        for stratum in strata:
            node = tree
            for i, dimension in enumerate(dimensions):
                values = node.setdefault(dimension, {})
                value = stratum.get(dimension, 'Unspecified')
                if i == len(dimensions) - 1:
                    values.setdefault(value, []).append(leaf)
                else:
                    node = values.setdefault(value, {})
    return tree
