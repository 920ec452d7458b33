"""
Submitters and zarr stores, with literals copied by hand from the original's
transform.py: its submitter table lists each id next to the slug it is
derived from, so a wrong derivation shows here.
"""
import pytest

from azul.plugins.metadata.hca.submitters import Category, Submitter
from azul.plugins.metadata.hca.transform import zarr_parts


@pytest.mark.parametrize('submitter_id,title,category', [
    ('b7525d8e-8c7a-5fec-911a-323e5c3a79f7', 'ArrayExpress', Category.external),
    ('656db407-02f1-547c-9840-6908c4f09ce8', 'HCA Release', Category.external),
    ('e67aaabe-93ea-564a-aa66-31bc0857b707', 'DCP/2 Analysis', Category.internal),
    ('c9efbb15-c50c-5796-8d15-35e9e1219dc5', 'DCP/1 Matrix Service', Category.internal),
    ('31ad7d2c-7262-54aa-92df-7f16418f3b84', 'LungMAP', Category.external),
    ('bd24572b-a535-5ff8-b167-0e43d7f0d4b0', 'Zenodo', Category.external),
    ('210ca4c7-f6f6-5a0d-8b1c-88ab5349a8f3', 'Publication', Category.external),
])
def test_submitter_ids(submitter_id, title, category):
    submitter = Submitter.for_id(submitter_id)
    assert submitter is not None and submitter.title == title
    assert submitter.category is category
    assert Submitter.for_title(title) is submitter


def test_unknown_submitter():
    assert Submitter.for_id('00000000-0000-0000-0000-000000000000') is None
    assert Submitter.for_title('Somebody') is None


def test_zarr_parts():
    # The original splits the file name at `.zarr/`; `!` was read as `/` before
    assert zarr_parts('377f2f5a.zarr/expression_matrix/.zattrs') == (
        '377f2f5a', 'expression_matrix/.zattrs')
    assert zarr_parts('377f2f5a.zarr/.zattrs') == ('377f2f5a', '.zattrs')
    assert zarr_parts('matrix.loom') is None
    assert zarr_parts(None) is None
