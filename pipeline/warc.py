"""A WARC record parser that resyncs: junk or a cut record costs itself, not the rest of the file.

warcio stops at the first record it cannot parse. Here records are read line by line from
a ``compressed.Stream``: a header block, ``Content-Length`` bytes of block, then blank lines;
anything that does not fit is reported as a problem record and reading resumes at the next
line that starts ``WARC/1.``. Where the record carries ``WARC-Block-Digest`` (Common Crawl's
always do) the block is checked against it, which catches junk written inside a block.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Iterator

from glassworks.pipeline.compressed import Damage, Stream

MAX_RAW = 1 << 16  # bytes of a bad stretch kept (base64) in its quarantine record


@dataclass
class WarcRecord:
    index: int  # position among the records (and problem stretches) of the file
    offset: int  # decompressed byte offset where it starts
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    block: bytes = b""
    problem: tuple[str, str] | None = None  # (quarantine reason, detail)
    raw: bytes | None = None  # the bytes of a problem stretch (capped)

    @property
    def type(self) -> str | None:
        return self.headers.get("warc-type")

    def http(self) -> tuple[int | None, dict[str, str], bytes]:
        """(status, lower-cased headers, body) of an ``application/http`` response block."""
        head, sep, body = self.block.partition(b"\r\n\r\n")
        if not sep:
            head, sep, body = self.block.partition(b"\n\n")
        lines = head.decode("latin-1").splitlines()
        status = None
        if lines and lines[0].startswith("HTTP/"):
            parts = lines[0].split()
            status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        headers = {}
        for line in lines[1:]:
            key, colon, value = line.partition(":")
            if colon:
                headers.setdefault(key.strip().lower(), value.strip())
        return status, headers, body


def _digest_ok(headers: dict[str, str], block: bytes) -> bool:
    declared = headers.get("warc-block-digest", "")
    algo, _, value = declared.partition(":")
    if algo.lower() != "sha1" or not value:
        return True  # nothing (we can check) declared
    return base64.b32encode(hashlib.sha1(block).digest()).decode("ascii") == value.strip().upper()


def records(stream: Stream) -> Iterator[WarcRecord | Damage]:
    """Every record of a WARC stream, problem stretches included, and each decompression loss."""
    index, reported, pending = 0, 0, None
    while True:
        offset = stream.pos - (len(pending) if pending else 0)
        line = pending if pending is not None else stream.readline()
        pending = None
        while reported < len(stream.damages):
            yield stream.damages[reported][1]
            reported += 1
        if not line:
            break
        if not line.strip():
            continue
        if not line.startswith(b"WARC/1."):
            junk = bytearray(line)
            while (line := stream.readline()) and not line.startswith(b"WARC/1."):
                if len(junk) < MAX_RAW:
                    junk += line
            pending = line or None
            end = stream.pos - (len(line) if line else 0)
            yield WarcRecord(index, offset, problem=("not_a_warc_record", f"{end - offset} bytes between records "
                                                     "that start no WARC record"), raw=bytes(junk[:MAX_RAW]))
            index += 1
            continue
        headers = {}
        raw_head = bytearray(line)
        while (line := stream.readline()) and line.strip():
            raw_head += line
            key, colon, value = line.decode("utf-8", "replace").partition(":")
            if colon:
                headers[key.strip().lower()] = value.strip()
        length = headers.get("content-length", "")
        if not length.isdigit():
            yield WarcRecord(index, offset, headers, problem=("bad_warc_header", "no valid Content-Length"),
                             raw=bytes(raw_head[:MAX_RAW]))
            index += 1
            continue
        block = stream.read(int(length))
        record = WarcRecord(index, offset, headers, block)
        index += 1
        lost = stream.damaged_between(offset, stream.pos)
        if len(block) < int(length):
            record.problem = ("truncated_record", f"the file ends {int(length) - len(block)} bytes before "
                                                  "the record's Content-Length")
        elif lost:
            record.problem = ("damaged_record", f"the record spans bytes lost at {lost[0].at_byte}")
        elif not _digest_ok(headers, block):
            record.problem = ("block_digest_mismatch", "the block does not match its WARC-Block-Digest")
        if record.problem:
            record.raw = bytes(raw_head[:MAX_RAW]) + block[:MAX_RAW]
        yield record
