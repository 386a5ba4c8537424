"""Decompression that survives damage: resync at the next gzip member or zstd frame.

Published corpora come compressed (SlimPajama and DCLM as ``.jsonl.zst``, Dolma as
``.json.gz``, Common Crawl as per-record gzip members). Python's ``gzip`` and fsspec's
codecs stop at the first bad byte and lose the rest of the file; here a damaged member is
skipped up to the next member's magic bytes, and each loss is reported as a ``Damage`` in
the stream of decompressed chunks, so the reader can quarantine what it lost and say where.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Iterator

CHUNK = 1 << 16
GZIP_MAGIC = b"\x1f\x8b\x08"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclass
class Damage:
    """Bytes of the compressed file that could not be decompressed.

    ``at_byte`` is the compressed offset where the bad member (or frame) began, ``resumed_at``
    where reading picked up again (the file size when it never did), ``truncated`` whether the
    file simply ended inside a member.
    """

    at_byte: int
    resumed_at: int
    error: str
    truncated: bool = False

    def as_json(self) -> dict:
        return {"at_byte": self.at_byte, "resumed_at": self.resumed_at, "error": self.error, "truncated": self.truncated}


def codec_of(path: str) -> str | None:
    """The codec a file's extension names: gzip, zstd, or None for plain bytes."""
    lower = path.lower()
    if lower.endswith((".gz", ".gzip")):
        return "gzip"
    if lower.endswith((".zst", ".zstd")):
        return "zstd"
    return None


def _gzip_member():
    return zlib.decompressobj(31)


def _zstd_frame():
    import zstandard

    return zstandard.ZstdDecompressor().decompressobj()


def decompressed(handle, codec: str | None) -> Iterator[bytes | Damage]:
    """Decompressed chunks of ``handle`` (a binary file), with a ``Damage`` where bytes were lost."""
    if codec is None:
        while chunk := handle.read(CHUNK):
            yield chunk
        return
    if codec == "gzip":
        new, magic, errors = _gzip_member, GZIP_MAGIC, (zlib.error,)
    else:
        import zstandard

        new, magic, errors = _zstd_frame, ZSTD_MAGIC, (zstandard.ZstdError,)
    yield from _members(handle, new, magic, errors)


def _members(handle, new, magic: bytes, errors: tuple) -> Iterator[bytes | Damage]:
    """Members (gzip) or frames (zstd) one after another; on an error, skip to the next magic."""
    data, base = b"", 0  # base: the compressed offset of data[0]
    member, start, fed = new(), 0, False  # start: where the current member began
    while True:
        if not data:
            data = handle.read(CHUNK)
            if not data:
                break
        try:
            out = member.decompress(data)
        except errors as exc:
            skip_from = max(start + 1, base)  # the magic of the bad member itself is not a restart
            data, base = _seek_magic(handle, data[skip_from - base:], skip_from, magic)
            yield Damage(start, base, f"{type(exc).__name__}: {exc}")
            member, start, fed = new(), base, False
            continue
        fed = True
        if out:
            yield out
        if member.eof:
            rest = member.unused_data
            base += len(data) - len(rest)
            data, member, start, fed = rest, new(), base, False
            if rest and not rest.startswith(magic[: len(rest)]):  # junk after a member
                data, base = _seek_magic(handle, rest, base, magic)
                yield Damage(start, base, "bytes between members are not a member")
                start = base
        else:
            base += len(data)
            data = b""
    if fed:  # the file ended inside a member
        yield Damage(start, base, "file ends inside a compressed member", truncated=True)


def _seek_magic(handle, data: bytes, base: int, magic: bytes) -> tuple[bytes, int]:
    """Read on from ``data`` (at offset ``base``) to the next ``magic``; returns what starts there."""
    while True:
        found = data.find(magic)
        if found >= 0:
            return data[found:], base + found
        more = handle.read(CHUNK)
        keep = len(magic) - 1
        if not more:
            return b"", base + len(data)
        base += max(len(data) - keep, 0)
        data = data[-keep:] + more if len(data) >= keep else data + more


class Stream:
    """A readline/read view over ``decompressed`` chunks that remembers where damage fell.

    ``damages`` holds ``(decompressed offset, Damage)``; ``damaged_between(a, b)`` says whether
    a record spanning ``[a, b)`` of the decompressed bytes crossed one of them.
    """

    def __init__(self, pieces: Iterator[bytes | Damage]):
        self._pieces = iter(pieces)
        self._buf = b""
        self._at = 0  # read position inside _buf (no copying per line)
        self.pos = 0  # decompressed offset of the next byte to be read
        self.damages: list[tuple[int, Damage]] = []
        self._done = False

    def _fill(self) -> bool:
        for piece in self._pieces:
            if isinstance(piece, Damage):
                self.damages.append((self.pos + len(self._buf) - self._at, piece))
                continue
            self._buf = self._buf[self._at:] + piece
            self._at = 0
            return True
        self._done = True
        return False

    def readline(self) -> bytes:
        while True:
            end = self._buf.find(b"\n", self._at)
            if end >= 0:
                return self._take(end + 1 - self._at)
            if self._done or not self._fill():
                return self._take(len(self._buf) - self._at)

    def read(self, n: int) -> bytes:
        while len(self._buf) - self._at < n and not self._done and self._fill():
            pass
        return self._take(min(n, len(self._buf) - self._at))

    def _take(self, n: int) -> bytes:
        out = self._buf[self._at:self._at + n]
        self._at += n
        self.pos += n
        return out

    def damaged_between(self, start: int, end: int) -> list[Damage]:
        return [d for at, d in self.damages if start < at <= end or (at == end and d.truncated)]
