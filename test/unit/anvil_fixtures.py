"""
The three AnVIL fixture bundles (`shared/fixtures/anvil/*.tdr.anvil.json`) as
`Bundle`s, the way a repository plugin hands them to the AnVIL plugin:
`metadata` is the file's `entities`, `links` is `{"links": [...]}`,
`manifest` is empty. Read in place, never copied into the repository.
"""
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from azul.core.aggregation import aggregate
from azul.core.documents import Aggregate, BundleFQID, Contribution
from azul.plugins.metadata.anvil import AnvilPlugin
from azul.plugins.metadata.base import HitContext
from azul.plugins.repository.base import Bundle

FIXTURES = Path(__file__).parents[3] / 'shared' / 'fixtures' / 'anvil'

# The original's test source: snapshot `anvil_snapshot`, every bundle (`/0`)
SOURCE = 'tdr:bigquery:gcp:test_anvil_project:anvil_snapshot:/0'
VERSION = '2022-06-01T00:00:00.000000Z'

PRIMARY = '826dea02-e274-affe-aabc-eb3db63ad068'
SUPPLEMENTARY = '6b0f6c0f-5d80-a242-accb-840921351cd5'
DUOS = '2370f948-2783-aeb6-afea-e022897f4dcf'
ALL = (PRIMARY, SUPPLEMENTARY, DUOS)

CONTEXT = HitContext(catalog='anvil', service_url='http://localhost:8000',
                     readable=frozenset({SOURCE}))


def fixture_bundle(uuid: str, source: str = SOURCE) -> Bundle:
    document = json.loads((FIXTURES / f'{uuid}.tdr.anvil.json').read_text())
    versions = {row['version'] for row in document['entities'].values()}
    # Every AnVIL bundle has the one version of its snapshot's rows
    (version,) = versions
    return Bundle(fqid=BundleFQID(uuid, version), source=source, manifest={},
                  metadata=document['entities'], links={'links': document['links']},
                  kind='tdr')


def contributions(uuids: tuple[str, ...] = ALL) -> list[Contribution]:
    plugin = AnvilPlugin()
    return [c for uuid in uuids for c in plugin.transform(fixture_bundle(uuid), deleted=False)]


def aggregates(uuids: tuple[str, ...] = ALL) -> dict[str, list[Aggregate]]:
    """The aggregates of the bundles' entities by entity type, in entity id order."""
    plugin = AnvilPlugin()
    grouped: dict[tuple[str, str], list[Contribution]] = defaultdict(list)
    for c in contributions(uuids):
        grouped[c.entity_type, c.entity_id].append(c)
    result: dict[str, list[Aggregate]] = defaultdict(list)
    for (entity_type, entity_id), cs in sorted(grouped.items()):
        agg = aggregate(entity_type, entity_id, cs, plugin.aggregators(entity_type))
        if agg is not None:
            result[entity_type].append(agg)
    return result


def hits(uuids: tuple[str, ...] = ALL) -> dict[str, list[dict[str, Any]]]:
    plugin = AnvilPlugin()
    return {
        entity_type: [plugin.shape_hit(entity_type, a.to_json(), CONTEXT) for a in aggs]
        for entity_type, aggs in aggregates(uuids).items()
    }
