"""
AnVIL hits, facets and summaries of the fixture bundles, against golden files
checked by hand against the original Azul's expectations in
`test/service/test_response_anvil.py` (`test_entity_indices`, `test_summary`),
which index the primary bundle only.

`golden/anvil/hits_primary.json` (primary bundle) was drafted by the plugin
and then diffed, field by field and per entity type, against the hits of
`test_entity_indices`. They agree but for these differences, all explained:

* `sources`: the original shows the snapshot's id as `source_id` and the spec
  without its prefix; a source here is one string, its spec with the prefix
  (`source_id` = `source_spec`), the prefix shown apart as there (`/0`).
* biosample `apriori_cell_type`: `[null]` here, `['bar', 'foo']` there; our
  fixture's row holds `[]`, and an empty list is `[null]` as for every list
  field of the original (`assay_type` of the same hits).
* the dataset's `description` and `duos_id`: null here (both keys always
  shown, null when unknown, as the original's datasets hits:
  `test_anvil.py::test_absent_duos_id`); the original's fixture's dataset
  row carries both, ours leaves them to the DUOS bundle, whose row has no
  `duos_id`. See `hits_all.json`.
* files: `azul_mirror_uri` is null (no mirroring here; the original always
  shows the key, null without mirroring, as its `_pivotal_entity`);
  `azul_url` is our service URL of the same path, catalog and escaped
  version.

`golden/anvil/hits_all.json` (all three bundles) adds, checked by hand
against the original's transformers: the supplementary file (no activities,
biosamples, diagnoses or donors: empty lists), the DUOS description merged
into the dataset (its `duos_id` null, as `test_absent_duos_id`), whose hit
lists all three bundles and three file formats, and three bundles hits, the
DUOS one with no files and its stub folded to `{}` (none of the stub's
fields is shown of a folded dataset).

`facets_primary.json` and `summary_primary.json` are the original's
`termFacets` and summary, transcribed (the `type` of every facet aside);
`summary_all.json` adds the supplementary file by hand.
"""
import json
from pathlib import Path

import pytest

from azul.core.filters import Filters
from azul.core.search import TermBucket
from azul.plugins.metadata.anvil import AnvilPlugin
from azul.plugins.metadata.anvil.response import shape_summary
from unit.test_anvil_plugin import ALL, PRIMARY, hits

GOLDEN = Path(__file__).parent / 'golden' / 'anvil'
CATALOG = 'anvil'


def _golden(name: str):
    return json.loads((GOLDEN / f'{name}.json').read_text())


@pytest.mark.parametrize('name,uuids', [('hits_primary', (PRIMARY,)), ('hits_all', ALL)])
def test_hits(name, uuids):
    assert hits(uuids) == _golden(name)


def test_pivotal_single_others_lists():
    for entity_type, entity_hits in hits(ALL).items():
        for hit in entity_hits:
            assert list(hit)[:3] == ['entryId', 'sources', 'bundles']
            for inner_type, entities in list(hit.items())[3:]:
                if inner_type == entity_type:
                    (entity,) = entities
                    assert entity['document_id'] == hit['entryId']
                    assert entity['accessible'] is True
                else:
                    # Folded: every field a list of values, but the sums of files
                    for entity in entities:
                        assert all(isinstance(v, list) for k, v in entity.items()
                                   if k not in ('count', 'file_size')), (entity_type, entity)


def test_shape_summary_by_hand():
    # Results as a backend would return them, made up: two formats, one of
    # them null (a file without a format), no activities index answered
    results = {
        'files': {'fileCount': 3, 'totalFileSize': 30.0,
                  'fileFormats': (TermBucket('.bam', 2, {}), TermBucket(None, 1, {}))},
        'donors': {'donorCount': 2,
                   'donorSpecies': (TermBucket('Homo sapiens', 2, {}),),
                   'donorDiagnosisDiseases': (TermBucket('a', 2, {}), TermBucket('b', 1, {})),
                   'donorDiagnosisPhenotypes': ()},
        'biosamples': {'biosampleCount': 4},
        'datasets': {'datasetCount': 1},
    }
    assert shape_summary(results) == {
        'activityCount': 0,
        'activityTypes': [],
        'biosampleCount': 4,
        'datasetCount': 1,
        'donorCount': 2,
        'donorDiagnosisDiseases': [{'count': 2, 'disease': 'a'}, {'count': 1, 'disease': 'b'}],
        'donorDiagnosisPhenotypes': [],
        'donorSpecies': [{'count': 2, 'species': 'Homo sapiens'}],
        'fileCount': 3,
        'fileFormats': [{'count': 2, 'format': '.bam'}, {'count': 1, 'format': None}],
        'totalFileSize': 30.0,
    }


def test_summary_requests_per_index():
    requests = AnvilPlugin().summary_requests(Filters())
    assert {k: r.entity_type for k, r in requests.items()} == {
        'activities': 'activities', 'biosamples': 'biosamples', 'datasets': 'datasets',
        'donors': 'donors', 'files': 'files'}
