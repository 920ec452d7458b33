"""
/index/summary for AnVIL: which backend aggregations it takes, per entity
type, and how their results become the original's response.

As in the original, each figure comes from the index of the entity type it
counts, under the same filters: activities and their types over
`activities`, biosamples over `biosamples`, datasets over `datasets`, donors,
their species and their diagnoses' diseases and phenotypes over `donors`,
files, their formats and total size over `files`. A count is the number of
matching documents; a list is the terms of one field with the number of
matching documents having each, by count descending, then term.

The original's terms come from an OpenSearch terms aggregation over the
indexed values, where a missing value is the term `~null`; here it is null.
"""
from collections.abc import Mapping, Sequence
from typing import Any

from azul.core.filters import Filters
from azul.core.search import Count, Sum, SummaryRequest, SummaryResult, TermBucket, Terms
from azul.plugins.metadata.anvil.fields import registry

JSON = dict[str, Any]


def summary_requests(filters: Filters) -> dict[str, SummaryRequest]:
    f = registry.__getitem__
    return {
        'activities': SummaryRequest('activities', filters, (
            Count('activityCount'),
            Terms('activityTypes', f('activities.activity_type')),
        )),
        'biosamples': SummaryRequest('biosamples', filters, (
            Count('biosampleCount'),
        )),
        'datasets': SummaryRequest('datasets', filters, (
            Count('datasetCount'),
        )),
        'donors': SummaryRequest('donors', filters, (
            Count('donorCount'),
            Terms('donorSpecies', f('donors.organism_type')),
            Terms('donorDiagnosisDiseases', f('diagnoses.disease')),
            Terms('donorDiagnosisPhenotypes', f('diagnoses.phenotype')),
        )),
        'files': SummaryRequest('files', filters, (
            Count('fileCount'),
            Terms('fileFormats', f('files.file_format')),
            Sum('totalFileSize', f('files.file_size')),
        )),
    }


def _buckets(buckets: Sequence[TermBucket], key: str) -> list[JSON]:
    return [{'count': b.count, key: b.term} for b in buckets]


def shape_summary(results: Mapping[str, SummaryResult]) -> JSON:
    activities = results.get('activities', {})
    biosamples = results.get('biosamples', {})
    datasets = results.get('datasets', {})
    donors = results.get('donors', {})
    files = results.get('files', {})
    return {
        'activityCount': activities.get('activityCount', 0),
        'activityTypes': _buckets(activities.get('activityTypes', ()), 'type'),
        'biosampleCount': biosamples.get('biosampleCount', 0),
        'datasetCount': datasets.get('datasetCount', 0),
        'donorCount': donors.get('donorCount', 0),
        'donorDiagnosisDiseases': _buckets(donors.get('donorDiagnosisDiseases', ()), 'disease'),
        'donorDiagnosisPhenotypes': _buckets(donors.get('donorDiagnosisPhenotypes', ()),
                                             'phenotype'),
        'donorSpecies': _buckets(donors.get('donorSpecies', ()), 'species'),
        'fileCount': files.get('fileCount', 0),
        'fileFormats': _buckets(files.get('fileFormats', ()), 'format'),
        # A float, as the original's sum aggregation
        'totalFileSize': float(files.get('totalFileSize') or 0.0),
    }
