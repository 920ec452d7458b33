"""
Realistic, deterministic synthetic HCA metadata bundles in the canned bundle
format of the fixtures: one `{"manifest", "metadata", "links", "stitched"}`
JSON object per bundle version, with current-schema (DCP/2) metadata
documents and typed links (links schema 3.0.0).

>>> from pathlib import Path
>>> from tempfile import TemporaryDirectory
>>> with TemporaryDirectory() as d:
...     stats = generate(25, Path(d), seed=1)
...     n = len(list(Path(d).glob('*-*.json')))
>>> stats.bundles, stats.projects, n == stats.bundles + stats.updated
(25, 1, True)
"""
from azul_dev.synth.generator import (
    DELETIONS_FILE,
    STATS_FILE,
    SynthStats,
    bundle_file_name,
    generate,
)

__all__ = [
    'DELETIONS_FILE',
    'STATS_FILE',
    'SynthStats',
    'bundle_file_name',
    'generate',
]
