"""
`SearchBackend.content_version`: manifests are cached under it, so it must
change with every change to a catalog's aggregates and stay put otherwise,
on both backends.
"""
from backend_data import CATALOG, ENTITY_TYPE, documents, registry

from azul.backends.base import AggregateWrite


def test_content_version_tracks_writes(backend):
    reg = registry()
    docs = documents(count=4)
    assert backend.content_version(CATALOG) == 'none'
    backend.create_indices(CATALOG, [ENTITY_TYPE], reg)
    created = backend.content_version(CATALOG)
    assert created != 'none'
    # Reading changes nothing
    assert backend.content_version(CATALOG) == created
    backend.write_aggregates(CATALOG, ENTITY_TYPE,
                             [AggregateWrite(d.entity_id, d, None) for d in docs[:2]])
    written = backend.content_version(CATALOG)
    assert written not in ('none', created)
    # Another catalog's writes leave this one's version alone
    backend.create_indices('other', [ENTITY_TYPE], reg)
    backend.write_aggregates('other', ENTITY_TYPE,
                             [AggregateWrite(d.entity_id, d, None) for d in docs[2:]])
    assert backend.content_version(CATALOG) == written
    # A deletion is a change
    version = backend.read_aggregates(CATALOG, ENTITY_TYPE, [docs[0].entity_id])
    backend.write_aggregates(CATALOG, ENTITY_TYPE,
                             [AggregateWrite(docs[0].entity_id, None,
                                             version[docs[0].entity_id].version)])
    deleted = backend.content_version(CATALOG)
    assert deleted != written
    # Dropping the catalog (a reindex starts so) invalidates it too
    backend.delete_indices(CATALOG)
    assert backend.content_version(CATALOG) == 'none'
    backend.create_indices(CATALOG, [ENTITY_TYPE], reg)
    assert backend.content_version(CATALOG) not in ('none', created, written, deleted)
