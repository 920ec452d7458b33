"""
The provenance graph of an HCA bundle, from its `links` document.

Three styles exist (see the fixtures README §2.3). The header's
`schema_version` does not reliably say which one a document uses, so each link
object is recognized by its shape:

* edge list (v5, links 1.0.0): ``{source_id, source_type, destination_id,
  destination_type}``, one edge per object;
* process list (1.1.x): ``{process, inputs, outputs, protocols}``;
* typed links (2.x, 3.x): ``{link_type: "process_link", process_id, inputs:
  [{input_id}], outputs: [{output_id}], protocols: [{protocol_id}]}`` and
  ``{link_type: "supplementary_file_link", entity, files}``.

All three become `ProcessLink`s and `SupplementaryLink`s. Malformed link
objects are logged and skipped, so that one bad link does not make a whole
bundle unindexable.
"""
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

log = logging.getLogger(__name__)


@attrs.frozen
class ProcessLink:
    process_id: str
    # The schema name if the link says it (typed links and v5 edges), else None
    process_type: str | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    protocols: tuple[str, ...]


@attrs.frozen
class SupplementaryLink:
    """Supplementary files attached to an entity, in practice the project."""
    entity_type: str
    entity_id: str
    files: tuple[str, ...]


@attrs.frozen
class Links:
    processes: tuple[ProcessLink, ...]
    supplementary: tuple[SupplementaryLink, ...]


def parse_links(links: Mapping[str, Any] | None) -> Links:
    objects = (links or {}).get('links') or []
    processes: list[ProcessLink] = []
    supplementary: list[SupplementaryLink] = []
    edges: list[Mapping[str, Any]] = []
    for link in objects:
        if not isinstance(link, dict):
            log.warning('Skipping link that is not an object: %r', link)
            continue
        try:
            if 'source_id' in link:
                edges.append(link)
            elif link.get('link_type') == 'supplementary_file_link':
                supplementary.append(_supplementary_link(link))
            elif 'link_type' in link or 'process_id' in link:
                processes.append(_typed_link(link))
            elif 'process' in link:
                processes.append(_process_list_link(link))
            else:
                log.warning('Skipping link of unknown shape: %r', sorted(link))
        except (KeyError, TypeError) as e:
            log.warning('Skipping malformed link %r: %r', sorted(link), e)
    processes.extend(_edge_links(edges))
    return Links(processes=tuple(processes), supplementary=tuple(supplementary))


def _ids(items: Iterable[Any], key: str) -> tuple[str, ...]:
    # Typed links wrap ids in objects; a bare string is accepted too
    return tuple(item[key] if isinstance(item, dict) else item for item in items or ())


def _typed_link(link: Mapping[str, Any]) -> ProcessLink:
    return ProcessLink(process_id=link['process_id'],
                       process_type=link.get('process_type'),
                       inputs=_ids(link.get('inputs'), 'input_id'),
                       outputs=_ids(link.get('outputs'), 'output_id'),
                       protocols=_ids(link.get('protocols'), 'protocol_id'))


def _process_list_link(link: Mapping[str, Any]) -> ProcessLink:
    return ProcessLink(process_id=link['process'],
                       process_type=None,
                       inputs=tuple(link.get('inputs') or ()),
                       outputs=tuple(link.get('outputs') or ()),
                       protocols=_ids(link.get('protocols'), 'protocol_id'))


def _supplementary_link(link: Mapping[str, Any]) -> SupplementaryLink:
    entity = link['entity']
    return SupplementaryLink(entity_type=entity['entity_type'],
                             entity_id=entity['entity_id'],
                             files=_ids(link.get('files'), 'file_id'))


_generic_types = frozenset({'biomaterial', 'file', 'protocol'})


def _edge_links(edges: Iterable[Mapping[str, Any]]) -> list[ProcessLink]:
    """Group v5 edges by the process they start or end at."""
    by_process: dict[str, dict[str, list[str]]] = {}
    process_types: dict[str, str] = {}

    def slot(process_id: str, process_type: str) -> dict[str, list[str]]:
        process_types.setdefault(process_id, process_type)
        return by_process.setdefault(process_id, {'inputs': [], 'outputs': [], 'protocols': []})

    for edge in edges:
        try:
            src, src_type = edge['source_id'], edge['source_type']
            dst, dst_type = edge['destination_id'], edge['destination_type']
        except KeyError as e:
            log.warning('Skipping malformed edge %r: missing %s', sorted(edge), e)
            continue
        if src_type not in _generic_types:
            # An edge out of a process: to its output, or to a protocol it applied
            key = 'protocols' if dst_type == 'protocol' else 'outputs'
            slot(src, src_type)[key].append(dst)
        elif dst_type not in _generic_types:
            slot(dst, dst_type)['inputs'].append(src)
        else:
            log.warning('Skipping edge between two non-processes: %s -> %s', src, dst)
    return [ProcessLink(process_id=process_id,
                        process_type=process_types[process_id],
                        inputs=tuple(dict.fromkeys(slots['inputs'])),
                        outputs=tuple(dict.fromkeys(slots['outputs'])),
                        protocols=tuple(dict.fromkeys(slots['protocols'])))
            for process_id, slots in by_process.items()]
