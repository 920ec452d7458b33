"""
TDR source specs in the grammar of the original Azul:

    tdr:{type}:{domain}:{google_project}:{snapshot_name}:{prefix}

Only type `bigquery` and domain `gcp` are supported, as in the original.
`prefix` is the common uuid prefix of the bundles to take from the snapshot,
lower-case hex digits and possibly empty, optionally followed by `/` and the
partition prefix length (`:` takes everything, `:/0`, `:42/2`). The name is
the BigQuery dataset of the snapshot, so its tables are addressed as
`{google_project}.{snapshot_name}.{table}`.
"""
import re

import attrs

_TYPES = ('bigquery', 'parquet')
_DOMAINS = ('gcp', 'azure')

# A GCP project id: lower-case letters, digits and dashes, starting with a
# letter. The original also accepts short ids like `foo` in its examples, so
# the length rule of GCP (6-30) is not enforced.
_PROJECT = re.compile(r'[a-z][a-z0-9-]*[a-z0-9]|[a-z]')
# A BigQuery dataset name: letters, digits and underscores, at most 1024
_DATASET = re.compile(r'[A-Za-z0-9_]{1,1024}')
_HEX = re.compile(r'[0-9a-f]*')
# A v4 uuid has fixed bits after its first dash-separated group, so prefixes
# (with the partition digits) stay within those 8 characters, as the original
_MAX_PREFIX = 8


@attrs.frozen(kw_only=True)
class TDRSourceSpec:
    project: str
    name: str
    common: str = ''
    # None if the spec gives no partition length (`...:42`), not `...:42/0`
    partition: int | None = None
    type: str = 'bigquery'
    domain: str = 'gcp'

    @classmethod
    def parse(cls, text: str) -> 'TDRSourceSpec':
        """Raises ValueError with a message naming `text` if it is malformed."""

        def fail(reason: str):
            return ValueError(f'Invalid TDR source spec {text!r}: {reason}')

        if not isinstance(text, str):
            raise fail('not a string')
        parts = text.split(':')
        if len(parts) != 6 or parts[0] != 'tdr':
            raise fail('expected tdr:bigquery:gcp:{google_project}:{snapshot_name}:{prefix}')
        _, type_, domain, project, name, prefix = parts
        if type_ not in _TYPES:
            raise fail(f'{type_!r} is not a valid type')
        if type_ != 'bigquery':
            raise fail('Parquet sources are not yet supported')
        if domain not in _DOMAINS:
            raise fail(f'{domain!r} is not a valid domain')
        if domain != 'gcp':
            raise fail('Azure sources are not yet supported')
        if not _PROJECT.fullmatch(project):
            raise fail(f'{project!r} is not a valid Google Cloud project id')
        if not _DATASET.fullmatch(name):
            raise fail(f'{name!r} is not a valid snapshot (BigQuery dataset) name')
        common, slash, partition = prefix.partition('/')
        if not _HEX.fullmatch(common):
            raise fail(f'{common!r} is not a valid UUID prefix')
        if slash:
            if not partition.isdigit() or not partition.isascii():
                raise fail(f'partition prefix length {partition!r} must be an integer')
            partition_length = int(partition)
        else:
            partition_length = None
        if len(common) + (partition_length or 0) > _MAX_PREFIX:
            raise fail('common prefix and partition length exceed 8 characters')
        self = cls(project=project, name=name, common=common,
                   partition=partition_length, type=type_, domain=domain)
        # Leading zeros in the partition length (`/02`) have no canonical form
        if str(self) != text:
            raise fail(f'not in canonical form {str(self)!r}')
        return self

    def __str__(self) -> str:
        prefix = self.common if self.partition is None else f'{self.common}/{self.partition}'
        return ':'.join(('tdr', self.type, self.domain, self.project, self.name, prefix))

    def qualify_table(self, table: str) -> str:
        """The BigQuery name of a table of the snapshot, `project.dataset.table`."""
        return f'{self.project}.{self.name}.{table}'

    def contains(self, other: 'TDRSourceSpec') -> bool:
        """True if every bundle `other` selects is one this spec selects too."""
        return (self.project == other.project
                and self.name == other.name
                and other.common.startswith(self.common))
