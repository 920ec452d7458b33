"""
The bytes of the synthetic data files, so that downloads of the demo catalog
serve real content consistent with what the manifests declare.

Real sequencing files are gigabytes; the demo keeps them small, so the
declared `size` is the size a real file of its kind would have, in MiB, as
bytes (a 15 GB fastq becomes a 14 KiB file), clamped to [`MIN_SIZE`,
`MAX_SIZE`] bytes. The content is deterministic: SHAKE-256 of
`{uuid}.{version}` stretched to the size, so a file can be regenerated from
its manifest entry alone, and every file differs from every other. The
checksums of the entry (`sha256`, `sha1`, `crc32c`, and `s3_etag`, the MD5
of a single-part upload) are those of these bytes.

`data_file_name` is where the canned repository looks for them: the
directory `data` beside the bundle files (see
`azul.plugins.repository.canned.repository`).
"""
import hashlib

MIN_SIZE = 32
MAX_SIZE = 2048
DATA_DIR = 'data'


def data_size(realistic: int) -> int:
    """The size of the synthetic file standing in for one of `realistic` bytes."""
    return max(MIN_SIZE, min(MAX_SIZE, realistic >> 20))


def data_bytes(uuid: str, version: str, size: int) -> bytes:
    return hashlib.shake_256(f'{uuid}.{version}'.encode()).digest(size)


def data_file_name(uuid: str, version: str) -> str:
    return f'{uuid}.{version}'


def checksums(content: bytes) -> dict[str, str]:
    return {
        'crc32c': f'{crc32c(content):08x}',
        'sha1': hashlib.sha1(content).hexdigest(),
        'sha256': hashlib.sha256(content).hexdigest(),
        's3_etag': hashlib.md5(content).hexdigest(),
    }


def _crc32c_table() -> tuple[int, ...]:
    # The reflected Castagnoli polynomial
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_TABLE = _crc32c_table()


def crc32c(content: bytes) -> int:
    """
    CRC-32C (Castagnoli), as Google Cloud Storage and the DCP report it; no
    package of ours computes it, and the files are small.

    >>> f'{crc32c(b"123456789"):08x}'
    'e3069283'
    """
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in content:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF
