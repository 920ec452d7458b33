"""
Matrix stratification trees, with expectations worked out by hand from the
original's rules (plugins/metadata/hca/service/contributor_matrices.py):
dimensions ordered by their number of distinct values, then species,
development stage, organ, library construction approach; a stratum with
several values of a dimension is one branch per value; a missing dimension
is `Unspecified`; the leaves list the files with their `drs_uri`.
"""
from azul.plugins.metadata.hca.matrices import parse_strata, stratification_tree


def _file(name: str, strata: str) -> dict:
    return {'uuid': name, 'name': name, 'strata': strata}


def _leaf(name: str) -> dict:
    return {'uuid': name, 'name': name, 'drs_uri': None}


def test_parse_strata():
    assert parse_strata('genusSpecies=Homo sapiens;organ=blood,brain\norgan=eye') == [
        {'genusSpecies': ['Homo sapiens'], 'organ': ['blood', 'brain']},
        {'organ': ['eye']},
    ]


def test_one_file_one_stratum():
    tree = stratification_tree([_file('a', 'organ=blood;genusSpecies=Homo sapiens')])
    # One value each: ordered by the default order, species before organ
    assert tree == {'genusSpecies': {'Homo sapiens': {'organ': {'blood': [_leaf('a')]}}}}


def test_fewer_distinct_values_go_first():
    tree = stratification_tree([
        _file('a', 'genusSpecies=Homo sapiens;organ=blood,brain'),
        _file('b', 'genusSpecies=Mus musculus;organ=blood'),
        _file('c', 'genusSpecies=Homo sapiens;organ=eye'),
    ])
    # species: 2 values, organ: 3, so species comes first; file a covers two organs
    assert tree == {'genusSpecies': {
        'Homo sapiens': {'organ': {'blood': [_leaf('a')], 'brain': [_leaf('a')],
                                   'eye': [_leaf('c')]}},
        'Mus musculus': {'organ': {'blood': [_leaf('b')]}},
    }}


def test_missing_dimension_is_unspecified():
    tree = stratification_tree([
        _file('a', 'genusSpecies=Homo sapiens;developmentStage=adult'),
        _file('b', 'genusSpecies=Homo sapiens'),
    ])
    assert tree == {'genusSpecies': {'Homo sapiens': {'developmentStage': {
        'adult': [_leaf('a')], 'Unspecified': [_leaf('b')]}}}}


def test_no_files_no_tree():
    assert stratification_tree([]) == {}
