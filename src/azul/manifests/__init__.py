"""
Manifests: every file (or metadata entity) that matches a catalog's filters,
written in one of the original Azul's formats and kept in a BlobStore.

- `formats/`: one module per format, each a `ManifestFormat` that writes the
  manifest from the backend's `scan` to a binary stream, never holding the
  whole result in memory.
- `blobstore`: where finished manifests live (a local directory, or S3).
- `keys`: the cache key of a manifest, tokens of preparation jobs and signed
  manifest keys.
- `jobs`: preparation jobs (run in the background, recorded in the store).
- `generate`: one manifest, start to end, for the CLI, the jobs and tests.
"""
