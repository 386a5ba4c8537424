"""HTML to text with resiliparse, as DCLM extracts its web text.

DCLM compared extractors and chose resiliparse's ``extract_plain_text`` with main-content
detection (boilerplate such as menus and footers removed); it keeps the text of the main
content and drops alt texts, link targets and form fields. The page URL and the WARC record
id stay in the document's metadata; the HTML itself is replaced by the extracted text.
"""

from __future__ import annotations

from dataclasses import dataclass

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from glassworks.pipeline.documents import is_settled, mark_dropped


@dataclass(frozen=True)
class ExtractConfig:
    """Options of resiliparse's extract_plain_text."""

    main_content: bool = True  # drop navigation, footers and other boilerplate blocks
    alt_texts: bool = False  # image alt texts are rarely prose
    links: bool = False  # keep link texts, not their targets
    list_bullets: bool = True  # keep list items readable as lines


class HtmlExtractor(PipelineStep):
    """Replace each document's HTML by its extracted text; empty results are dropped."""

    name = "⛏ resiliparse"
    type = "🛢 - EXTRAC"
    _requires_dependencies = ["resiliparse"]

    def __init__(self, config: ExtractConfig = ExtractConfig()):
        super().__init__()
        self.config = config

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from resiliparse.extract.html2text import extract_plain_text

        for doc in data:
            if is_settled(doc):
                yield doc
                continue
            with self.track_time():
                text = extract_plain_text(
                    doc.text, main_content=self.config.main_content, alt_texts=self.config.alt_texts,
                    links=self.config.links, list_bullets=self.config.list_bullets,
                )
            doc.metadata["extractor"] = "resiliparse"
            if not text.strip():
                mark_dropped(doc, "empty_extraction")
            else:
                doc.text = text
            yield doc
