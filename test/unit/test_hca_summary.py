"""
/index/summary from real aggregates, computed with `reference_summary` (no
backend), checked against the reference schema, its internal invariants, the
raw bundle metadata and the aggregates' contents.
"""
import json

import pytest
from openapi_schema_validator import OAS30Validator

from azul.core.documents import Aggregate, IndexedAggregate
from azul.core.filters import Filters, parse_filters
from azul.core.search import reference_summary
from azul.plugins.metadata.hca.fields import registry
from azul.plugins.metadata.hca.summary import shape_summary, summary_requests
from azul.plugins.repository.canned import CannedRepository
from unit.test_hca_plugin import FIXTURES, fixture_aggregates, fixture_sources, indexed

Docs = dict[str, list[IndexedAggregate]]


def summarize(docs: Docs, filters: Filters = Filters()) -> dict:
    requests = summary_requests(filters)
    return shape_summary({
        name: reference_summary(docs.get(request.entity_type, []), request)
        for name, request in requests.items()
    })


def catalog(source: str) -> Docs:
    return {t: indexed(aggs) for t, aggs in fixture_aggregates(source).items()}


@pytest.fixture(scope='module')
def catalogs() -> dict[str, Docs]:
    return {source: catalog(source) for source in fixture_sources()}


@pytest.fixture(scope='module')
def main(catalogs) -> Docs:
    # The DSS bundles of `indexer/`: the largest and most varied source
    return catalogs[fixture_sources()[0]]


@pytest.fixture(scope='module')
def validator() -> OAS30Validator:
    spec = json.loads((FIXTURES / 'azul-openapi' / 'service.openapi.json').read_text())
    response = spec['paths']['/index/summary']['get']['responses']['200']
    return OAS30Validator(response['content']['application/json']['schema'])


def _check_invariants(summary: dict, validator: OAS30Validator):
    errors = [e.message for e in validator.iter_errors(summary)]
    assert not errors, errors
    file_types = summary['fileTypeSummaries']
    assert summary['fileCount'] == sum(s['count'] for s in file_types)
    assert summary['totalFileSize'] == pytest.approx(sum(s['totalSize'] for s in file_types))
    assert None not in summary['organTypes']
    assert len(set(summary['organTypes'])) == len(summary['organTypes'])


def test_every_catalog(catalogs, validator):
    for source, docs in catalogs.items():
        summary = summarize(docs)
        _check_invariants(summary, validator)
        assert summary['fileCount'] == len(docs['files']), source
        assert summary['projectCount'] == len(docs['projects']), source
        sizes = [f['size'] for d in docs['files'] for f in d.aggregate.contents['files']]
        assert summary['totalFileSize'] == pytest.approx(sum(sizes)), source


def test_filtered_by_project(main, validator):
    project_ids = [d.entity_id for d in main['projects']]
    assert len(project_ids) > 1
    for project_id in project_ids:
        filters = parse_filters({'projectId': {'is': [project_id]}}, registry)
        summary = summarize(main, filters)
        _check_invariants(summary, validator)
        assert summary['projectCount'] == 1
        expected = sum(project_id in d.fields['projectId'] for d in main['files'])
        assert summary['fileCount'] == expected


def test_filtered_by_file_format(main, validator):
    filters = parse_filters({'fileFormat': {'is': ['fastq.gz']}}, registry)
    summary = summarize(main, filters)
    _check_invariants(summary, validator)
    assert [s['format'] for s in summary['fileTypeSummaries']] == ['fastq.gz']
    assert summary['fileCount'] < len(main['files'])


def test_filtered_by_species(main, validator):
    unfiltered = summarize(main)
    assert unfiltered['speciesCount'] > 1
    filters = parse_filters({'genusSpecies': {'is': ['Mus musculus']}}, registry)
    summary = summarize(main, filters)
    _check_invariants(summary, validator)
    assert summary['speciesCount'] == 1
    assert 0 < summary['donorCount'] < unfiltered['donorCount']


def test_nothing_matches(main, validator):
    filters = parse_filters({'projectId': {'is': ['no-such-project']}}, registry)
    summary = summarize(main, filters)
    _check_invariants(summary, validator)
    _assert_empty(summary)


@pytest.mark.parametrize('summary', [summarize({}), shape_summary({})],
                         ids=['empty index', 'no results'])
def test_empty(summary, validator):
    _check_invariants(summary, validator)
    _assert_empty(summary)


def _assert_empty(summary: dict):
    for key in ('projectCount', 'specimenCount', 'speciesCount', 'fileCount', 'totalFileSize',
                'donorCount', 'labCount'):
        assert summary[key] == 0, key
    for key in ('organTypes', 'fileTypeSummaries', 'cellCountSummaries'):
        assert summary[key] == [], key
    for entry in summary['projects']:
        counts = [entry['projects']['estimatedCellCount'],
                  entry['cellSuspensions']['totalCells']]
        assert [c for c in counts if c is not None] in ([0], [0, 0])


def _raw_metadata(source: str) -> list[dict]:
    repository = CannedRepository()
    return [repository.fetch_bundle(source, fqid).metadata
            for fqid in repository.list_bundles(source).bundles]


def test_distinct_counts_match_raw_metadata(main):
    source = fixture_sources()[0]
    ids = {'project': set(), 'donor_organism': set(), 'specimen_from_organism': set()}
    for metadata in _raw_metadata(source):
        for key in metadata:
            schema, _, document_id = key.partition('/')
            if schema in ids:
                ids[schema].add(document_id)
    summary = summarize(main)
    assert summary['projectCount'] == len(ids['project'])
    # Only donors and specimens of samples that have data files are counted
    assert 0 < summary['donorCount'] <= len(ids['donor_organism'])
    assert 0 < summary['specimenCount'] <= len(ids['specimen_from_organism'])


def test_organ_types_are_the_effective_organs(main):
    expected = {s['effective_organ'] for d in main['samples']
                for s in d.aggregate.contents['samples']} - {None}
    assert set(summarize(main)['organTypes']) == expected


def test_cell_count_summaries_sum_cell_suspension_counts(main):
    expected: dict = {}
    for d in main['cell_suspensions']:
        [cs] = d.aggregate.contents['cell_suspensions']
        assert cs['document_id'] == d.entity_id
        for organ in cs['organ'] or [None]:
            count, cells = expected.get(organ, (0, 0))
            expected[organ] = (count + 1, cells + (cs['total_estimated_cells'] or 0))
    actual = {
        s['organType'][0]: (s['countOfDocsWithOrganType'], s['totalCellCountByOrgan'])
        for s in summarize(main)['cellCountSummaries']
    }
    assert actual == expected
    assert any(cells for _, cells in actual.values())


def test_project_cell_counts(catalogs):
    checked = 0
    for docs in catalogs.values():
        estimates = {False: 0, True: 0}
        cells = {False: 0, True: 0}
        for d in docs['projects']:
            [project] = d.aggregate.contents['projects']
            [counts] = d.aggregate.contents['cell_counts']
            estimate = project['estimated_cell_count'] or 0
            total = counts['total_estimated_cells'] or 0
            estimates[bool(total)] += estimate
            cells[bool(estimate)] += total
        expected = [
            {'projects': {'estimatedCellCount': estimates[False]},
             'cellSuspensions': {'totalCells': None}},
            {'projects': {'estimatedCellCount': None},
             'cellSuspensions': {'totalCells': cells[False]}},
            {'projects': {'estimatedCellCount': estimates[True]},
             'cellSuspensions': {'totalCells': cells[True]}},
        ]
        assert summarize(docs)['projects'] == expected
        checked += any(estimates.values()) and any(cells.values())
    assert checked, 'some catalog must have both kinds of cell counts'


def _project(entity_id: str, laboratories: list) -> IndexedAggregate:
    contents = {'projects': [{'document_id': entity_id, 'laboratory': laboratories}]}
    aggregate = Aggregate('projects', entity_id, contents, (), (), 1)
    return IndexedAggregate(aggregate, registry.extract(aggregate.to_json()))


def test_lab_count_counts_the_null_laboratory():
    # Checked by hand against the original: labCount is a cardinality over
    # `contents.projects.laboratory.keyword`, where a missing laboratory is
    # indexed as the term `~null`, which the cardinality counts like any other
    docs = {'projects': [_project('p1', ['Lab A', 'Lab B']), _project('p2', []),
                         _project('p3', ['Lab A']), _project('p4', [None])]}
    summary = summarize(docs)
    assert summary['projectCount'] == 4
    assert summary['labCount'] == 3
    docs = {'projects': [_project('p1', ['Lab A', 'Lab B']), _project('p3', ['Lab A'])]}
    assert summarize(docs)['labCount'] == 2
