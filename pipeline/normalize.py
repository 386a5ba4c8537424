"""Unicode normalisation and SlimPajama's short-document rule."""

from __future__ import annotations

import unicodedata

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter

from glassworks.pipeline.documents import is_settled


class UnicodeNormalizer(PipelineStep):
    """Rewrite text to a Unicode normal form (NFC by default), so equal text is equal bytes."""

    name = "🔤 unicode normalise"
    type = "✂️ - FORMAT"

    def __init__(self, form: str = "NFC"):
        super().__init__()
        if form not in ("NFC", "NFD", "NFKC", "NFKD"):
            raise ValueError(f"unknown Unicode normal form {form!r}")
        self.form = form

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            if not is_settled(doc):
                normal = unicodedata.normalize(self.form, doc.text)
                if normal != doc.text:
                    self.stat_update("changed")
                    doc.text = normal
            yield doc


def _is_punctuation_or_space(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("P")


class ShortDocumentFilter(BaseFilter):
    """SlimPajama's rule: drop documents with fewer than ``min_chars`` characters once
    punctuation, spaces, newlines and tabs are removed (200 in SlimPajama)."""

    name = "🩳 short documents"

    def __init__(self, min_chars: int = 200):
        super().__init__()
        self.min_chars = min_chars

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        count = 0
        for char in doc.text:
            if not _is_punctuation_or_space(char):
                count += 1
                if count >= self.min_chars:
                    return True
        return False, "short_document"
