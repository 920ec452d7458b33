"""
The BlobStore of AWS deployments: objects in an S3 bucket, downloads by
presigned URLs (with the file name as `Content-Disposition`, as the original
hands out its manifests). The bucket's lifecycle rule expires objects; the
service additionally ignores objects older than the configured expiration.

Writes spool to a temporary file (in memory up to 8 MiB, then on disk) and
are uploaded when complete (multipart above boto3's threshold), so nothing
partial is ever published and memory stays bounded.
"""
import base64
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO
from urllib.parse import quote

from azul.manifests.blobstore import BlobInfo, BlobStore, BlobWriter

_SPOOL = 8 * 1024 * 1024
# S3 metadata is ASCII: values are stored base64-encoded under this prefix
_ENCODED = 'b64-'


class S3BlobStore(BlobStore):

    def __init__(self, client, bucket: str, prefix: str = ''):
        self._s3 = client
        self.bucket = bucket
        self.prefix = prefix

    def _key(self, key: str) -> str:
        return self.prefix + key

    def head(self, key: str) -> BlobInfo | None:
        try:
            response = self._s3.head_object(Bucket=self.bucket, Key=self._key(key))
        except self._s3.exceptions.ClientError as e:
            if e.response.get('Error', {}).get('Code') in ('404', 'NoSuchKey', 'NotFound'):
                return None
            raise
        metadata = {k: _decode(v) for k, v in response.get('Metadata', {}).items()}
        return BlobInfo(size=response['ContentLength'],
                        content_type=response.get('ContentType', 'application/octet-stream'),
                        modified=response['LastModified'].timestamp(),
                        metadata=metadata)

    @contextmanager
    def writer(self, key: str, content_type: str) -> Iterator[BlobWriter]:
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as spool:
            writer = BlobWriter(spool)
            yield writer
            spool.seek(0)
            metadata = {k: _encode(v) for k, v in writer.metadata.items()}
            self._s3.upload_fileobj(spool, self.bucket, self._key(key),
                                    ExtraArgs={'ContentType': content_type,
                                               'Metadata': metadata})

    def open(self, key: str) -> BinaryIO:
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=self._key(key))
        except self._s3.exceptions.NoSuchKey:
            raise FileNotFoundError(key) from None
        return response['Body']

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=self._key(key))

    def url(self, key: str, file_name: str | None, expires_in: int, base_url: str) -> str:
        params = {'Bucket': self.bucket, 'Key': self._key(key)}
        if file_name is not None:
            params['ResponseContentDisposition'] = (
                f"attachment; filename*=UTF-8''{quote(file_name, safe='')}")
        return self._s3.generate_presigned_url('get_object', Params=params,
                                               ExpiresIn=expires_in)


def _encode(value: str) -> str:
    return _ENCODED + base64.urlsafe_b64encode(value.encode()).decode()


def _decode(value: str) -> str:
    if value.startswith(_ENCODED):
        return base64.urlsafe_b64decode(value[len(_ENCODED):]).decode()
    return value
