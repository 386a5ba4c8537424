"""Which character set an HTML page is in: HTTP header, then ``<meta>``, then BOM, then detection.

Crawled pages often declare nothing, or declare it only in a ``<meta>`` tag, and the labels
they use mean what browsers make of them (WHATWG's encoding standard): ``iso-8859-1`` and
``us-ascii`` are decoded as windows-1252, ``shift_jis`` as cp932, ``gb2312`` as GB18030. A
declaration that does not decode the bytes is passed over for the next clue. The decision
(which clue, which charset, what was tried) is returned so each document can record it.
"""

from __future__ import annotations

import codecs
import re

# WHATWG label -> the codec browsers actually use for it (the supersets)
_BROWSER_CODEC = {
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "l1": "cp1252", "us-ascii": "cp1252",
    "ascii": "cp1252", "iso8859-1": "cp1252", "windows-1252": "cp1252", "iso-8859-9": "cp1254",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "windows-31j": "cp932",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-kr": "cp949", "ks_c_5601-1987": "cp949",
    "iso-8859-11": "cp874", "tis-620": "cp874", "big5": "big5hkscs",
}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
PRESCAN_BYTES = 1024  # as far as a browser looks for <meta charset> before giving up


def codec_for(label: str) -> str | None:
    """The Python codec for a charset label as browsers read it; None when unknown."""
    label = label.strip().strip("\"'").lower()
    label = _BROWSER_CODEC.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def header_charset(content_type: str | None) -> str | None:
    """The ``charset=`` parameter of a Content-Type header."""
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def meta_charset(body: bytes) -> str | None:
    """The charset of a ``<meta charset>`` or ``<meta http-equiv content=...charset=>`` tag."""
    found = _META.search(body[:PRESCAN_BYTES * 4])
    return found.group(1).decode("ascii", "replace") if found else None


def decode_html(body: bytes, content_type: str | None) -> tuple[str | None, dict]:
    """(text, decision) for one page; text is None when no clue decodes it strictly."""
    tried = []
    clues = [("http_header", header_charset(content_type)), ("meta", meta_charset(body))]
    for source, label in clues:
        if not label:
            continue
        codec = codec_for(label)
        if codec is None:
            tried.append(f"{source}:{label} (unknown)")
            continue
        try:
            return body.decode(codec), {"source": source, "declared": label, "charset": codec, "tried": tried}
        except UnicodeDecodeError:
            tried.append(f"{source}:{label} (does not decode)")
    for bom, codec in _BOMS:
        if body.startswith(bom):
            try:
                return body[len(bom):].decode(codec), {"source": "bom", "charset": codec, "tried": tried}
            except UnicodeDecodeError:
                tried.append(f"bom:{codec} (does not decode)")
    try:  # plain UTF-8 first: detection on short pages is a guess, valid UTF-8 rarely is
        return body.decode("utf-8"), {"source": "utf8_valid", "charset": "utf-8", "tried": tried}
    except UnicodeDecodeError:
        tried.append("utf-8 (does not decode)")
    from charset_normalizer import from_bytes

    best = from_bytes(body).best()
    if best is not None:
        codec = codec_for(best.encoding) or best.encoding
        try:
            return body.decode(codec), {"source": "detected", "charset": codec, "tried": tried}
        except UnicodeDecodeError:
            tried.append(f"detected:{codec} (does not decode)")
    return None, {"source": "none", "charset": None, "tried": tried}
