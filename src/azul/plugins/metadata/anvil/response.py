"""
The responses of the AnVIL catalogs: hits (`shape_hit`) and the summary
(`summary_requests`, `shape_summary`).

Hits: an AnVIL aggregate document as a hit of /index/{entity_type}, laid out
as the original's AnVIL hits.

A hit has `entryId`, `sources`, `bundles` and one list per inner entity type
(`activities`, `biosamples`, `datasets`, `diagnoses`, `donors`, `files`):

* the pivotal entity (the hit's own: the file of a files hit) is a list of
  one entity with all of its fields as single values, marked `accessible`;
  a file adds `azul_url` and `azul_mirror_uri` and drops its `version`, which the URL carries, and
  the descriptor fields the original's hits do not show;
* the other entity types are lists of folded entities (lists of values)
  showing only the fields the original shows of them; diagnoses show their
  ages only in donors hits (few diagnoses per donor, none are outer entities);
* a bundles hit has no pivotal entity: its `bundles` entry is marked.

The DUOS stub (`contents.duos`, see `indexer`) is merged into the pivotal
dataset; only the datasets index has a DUOS id, so folded datasets show
none, as the original's (its `_detailed_dataset_types`). The
pivotal dataset always shows `description` and `duos_id`, null when unknown,
as the original's (`test_anvil.py::test_absent_duos_id`).

Deviations: `source_prefix` is the prefix part of a TDR source spec and empty
for other sources (the original has a separate prefix per source);
`azul_mirror_uri` is always null, as this deployment mirrors no files.

The summary: which backend aggregations /index/summary takes, per entity
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

from azul.auth.reify import is_accessible
from azul.core.filters import Filters
from azul.core.search import Count, Sum, SummaryRequest, SummaryResult, TermBucket, Terms
from azul.plugins.metadata.anvil.fields import registry
from azul.plugins.metadata.base import HitContext

JSON = dict[str, Any]

INNER_TYPES = ('activities', 'biosamples', 'datasets', 'diagnoses', 'donors', 'files')

_non_pivotal: Mapping[str, frozenset[str]] = {
    'activities': frozenset({'activity_type', 'assay_type', 'data_modality'}),
    'biosamples': frozenset({'anatomical_site', 'biosample_type', 'disease',
                             'donor_age_at_collection_unit', 'donor_age_at_collection'}),
    'datasets': frozenset({'consent_group', 'data_modality', 'dataset_id',
                           'data_use_permission', 'duos_id', 'registered_identifier',
                           'title'}),
    'diagnoses': frozenset({'disease', 'phenotype', 'phenopacket', 'onset_age_unit',
                            'diagnosis_age_unit'}),
    'donors': frozenset({'organism_type', 'phenotypic_sex', 'reported_ethnicity',
                         'genetic_ancestry'}),
    'files': frozenset({'count', 'data_modality', 'file_format', 'file_size',
                        'is_supplementary', 'reference_assembly'}),
}

# Fields of a file for downloads only (see `indexer.FIELDS`)
DESCRIPTOR_ONLY = ('uuid', 'name', 'size', 'sha256', 'crc32')

_donor_diagnoses = _non_pivotal['diagnoses'] | {'diagnosis_age', 'onset_age'}


def source_prefix(source: str) -> str:
    """The prefix part of a TDR source spec (`tdr:...:{prefix}`), else ''."""
    parts = source.split(':')
    return parts[5] if len(parts) == 6 and parts[0] == 'tdr' else ''


def shape_hit(entity_type: str, document: Mapping[str, Any], context: HitContext) -> JSON:
    contents = document['contents']
    accessible = is_accessible(document['sources'], context.readable)
    bundles = [{'bundle_uuid': b['uuid'], 'bundle_version': b['version']}
               for b in document['bundles']]
    if entity_type == 'bundles':
        for bundle in bundles:
            bundle['accessible'] = accessible
    hit: JSON = {
        'entryId': document['entity_id'],
        'sources': [{'source_prefix': source_prefix(s), 'source_spec': s, 'source_id': s}
                    for s in document['sources']],
        'bundles': bundles,
    }
    duos = contents.get('duos') or []
    for inner_type in INNER_TYPES:
        entities = contents.get(inner_type) or []
        if inner_type == 'datasets':
            entities = _with_duos(entities, duos, pivotal=entity_type == 'datasets')
        if inner_type == entity_type:
            hit[inner_type] = [_pivotal(inner_type, e, accessible, context) for e in entities]
        else:
            fields = _donor_diagnoses if (entity_type, inner_type) == (
                'donors', 'diagnoses') else _non_pivotal[inner_type]
            hit[inner_type] = [{k: v for k, v in e.items() if k in fields} for e in entities]
    return hit


def _with_duos(datasets: list[Mapping[str, Any]], duos: list[Mapping[str, Any]],
               pivotal: bool) -> list[Mapping[str, Any]]:
    if not duos:
        return datasets
    if pivotal:
        by_id = {d.get('document_id'): d for d in duos}
        merged = [{**d, **by_id.pop(d.get('document_id'), {})} for d in datasets]
        # A dataset known only from its DUOS stub (its primary bundles not
        # yet indexed) shows what the stub says
        return merged + [dict(d) for d in by_id.values()]
    duos_ids = sorted({d['duos_id'] for d in duos if d.get('duos_id') is not None})
    extra = {'duos_id': duos_ids} if duos_ids else {}
    return [{**d, **extra} for d in datasets] or [extra]


def _pivotal(inner_type: str, entity: Mapping[str, Any], accessible: bool,
             context: HitContext) -> JSON:
    shaped = dict(entity)
    if inner_type == 'datasets':
        # Always shown, null when unknown, as the original's datasets hits
        for name in ('description', 'duos_id'):
            shaped.setdefault(name, None)
    shaped['accessible'] = accessible
    if inner_type == 'files':
        version = shaped.pop('version', None)
        for name in DESCRIPTOR_ONLY:
            shaped.pop(name, None)
        uuid = shaped.get('document_id')
        # A file without a DRS object cannot be downloaded through us
        has_data = uuid is not None and shaped.get('drs_uri') is not None
        shaped['azul_url'] = context.file_url(uuid, version) if has_data else None
        # Always shown, as the original's; null, as this deployment mirrors
        # no files
        shaped['azul_mirror_uri'] = None
    return shaped


# /index/summary


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
