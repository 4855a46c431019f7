"""Cryptographic hashes: MD5, SHA-1 and SHA-256 (hash lists in the field use all three).

:func:`hash_bytes` hashes content already in memory; :func:`hash_stream` reads a file object
in 1 MiB chunks so that files too large to hold in memory are still identified.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import BinaryIO

#: Chunk size for streamed hashing.
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class CryptoHashes:
    """Lowercase hex digests of one item's bytes."""

    md5: str
    sha1: str
    sha256: str


class StreamHasher:
    """Feed bytes in pieces; :meth:`digests` gives the three hashes of everything fed."""

    __slots__ = ("_md5", "_sha1", "_sha256", "size")

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._md5.update(chunk)
        self._sha1.update(chunk)
        self._sha256.update(chunk)
        self.size += len(chunk)

    def digests(self) -> CryptoHashes:
        return CryptoHashes(
            md5=self._md5.hexdigest(),
            sha1=self._sha1.hexdigest(),
            sha256=self._sha256.hexdigest(),
        )


def hash_bytes(data: bytes) -> CryptoHashes:
    """MD5, SHA-1 and SHA-256 of ``data``."""
    return CryptoHashes(
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        sha1=hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def hash_stream(
    fp: BinaryIO, prefix: bytes = b"", chunk_bytes: int = CHUNK_BYTES
) -> tuple[CryptoHashes, int]:
    """Hash ``prefix`` followed by everything left in ``fp``; return the hashes and the size."""
    hasher = StreamHasher()
    if prefix:
        hasher.update(prefix)
    while chunk := fp.read(chunk_bytes):
        hasher.update(chunk)
    return hasher.digests(), hasher.size
