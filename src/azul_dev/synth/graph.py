"""
The bundle being built and the helpers that add documents to it.
"""
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from random import Random

from azul_dev.synth.documents import JSON, LINKS_HEADER, document, manifest_entry, uuid4
from azul_dev.synth.project import Project

_CONTENT_TYPES = {
    'fastq.gz': 'application/gzip',
    'loom': 'application/vnd.loom',
    'h5ad': 'application/octet-stream',
    'bam': 'application/octet-stream',
    'bai': 'application/octet-stream',
    'mtx.gz': 'application/gzip',
    'csv': 'text/csv',
}


@dataclass
class Bundle:
    uuid: str
    version: str
    metadata: dict[str, JSON]
    manifest: dict[str, JSON]
    links: list[JSON]
    #: The version as microseconds since the epoch
    at: int = 0
    #: What an update needs to know to change the bundle like a resubmission would
    sample: str = ''
    lanes: int = 0
    sequencing_link: int = 0
    specimens: list[str] = field(default_factory=list)

    def to_json(self, encoded: Mapping[int, str] | None = None) -> bytes:
        """
        Serialize the bundle compactly. `encoded` maps the `id()` of metadata
        documents shared by many bundles to their JSON, which saves encoding
        the same project and protocols over and over.
        """
        if not encoded:
            return _dumps({
                'manifest': self.manifest,
                'metadata': self.metadata,
                'links': {**LINKS_HEADER, 'links': self.links},
                'stitched': [],
            }).encode('ascii')
        own, shared = {}, []
        for key, doc in self.metadata.items():
            json_doc = encoded.get(id(doc))
            if json_doc is None:
                own[key] = doc
            else:
                shared.append(f'"{key}":{json_doc}')
        if own:
            shared.append(_dumps(own)[1:-1])
        return ''.join((
            '{"manifest":', _dumps(self.manifest),
            ',"metadata":{', ','.join(shared),
            '},"links":', _dumps({**LINKS_HEADER, 'links': self.links}),
            ',"stitched":[]}',
        )).encode('ascii')


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(',', ':'))


class GraphBuilder:

    def __init__(self, rng: Random, project: Project) -> None:
        self.rng = rng
        self.project = project
        shared = [project.doc, *(doc for _, doc in project.donors),
                  *(doc for _, doc in project.protocols.values()),
                  *(doc for _, doc, _ in project.supplementary)]
        #: JSON of the documents shared by the bundles of the project, by `id()`
        self.encoded = {id(doc): _dumps(doc) for doc in shared}

    def _protocol(self, bundle: Bundle, entity_type: str) -> tuple[str, str]:
        protocol_id, doc = self.project.protocols[entity_type]
        bundle.metadata[f'{entity_type}/{protocol_id}'] = doc
        return entity_type, protocol_id

    def _process(self, bundle: Bundle, name: str, date: str, body: JSON | None = None) -> str:
        process_id = uuid4(self.rng)
        doc = document('process', process_id, date, {'process_core': {'process_id': name},
                                                     **(body or {})})
        bundle.metadata[f'process/{process_id}'] = doc
        return process_id

    def _file(self, bundle: Bundle, entity_type: str, name: str, file_format: str, size: int,
              date: str, body: JSON) -> str:
        file_id = uuid4(self.rng)
        key = f'{entity_type}/{file_id}'
        bundle.metadata[key] = document(entity_type, file_id, date, {
            'file_core': {'file_name': name, 'format': file_format, **body.pop('file_core')},
            **body,
        })
        bundle.manifest[key] = manifest_entry(self.rng, name, size, _CONTENT_TYPES[file_format],
                                              date, self.project.drs_prefix)
        return file_id
