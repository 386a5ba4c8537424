"""The tiny demo classifier in ``assets/``: its training sets, its rebuild and its held-out check.

Positives (``__label__hq``, DCLM's "reference" side): the reST sources of the Sphinx
documentation in ``data/text/sphinx-docs-rst.jsonl``, edited explanatory prose (the
planted duplicates left out). Negatives (``__label__cc``, the "crawl" side): the page chrome
of the 91 original pages in ``data/web/sphinx-docs.warc.gz``, i.e. every text outside the
Sphinx ``<div role="main">``: title, navigation bars, sidebar, footer (the planted mirror
copies left out). One document in five, chosen by the sha256 of its id, is held out of
training to measure the model. ``assets/README.md`` says what the model does and does not
mean; the training settings are ``assets/sphinx-docs-quality.yaml``.

``build_shipped_model`` rebuilds the model from data/ alone; with the same fastText build
the file comes out byte-identical, which the tests check against the shipped one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.provenance.atomic import atomic_write_text
from glassworks.provenance.recorder import record_stage

ASSETS = Path(__file__).resolve().parent / "assets"
SHIPPED_MODEL = ASSETS / "sphinx-docs-quality.ftz"
SHIPPED_CONFIG = ASSETS / "sphinx-docs-quality.yaml"
REFERENCE_FILE, WEB_FILE = Path("text/sphinx-docs-rst.jsonl"), Path("web/sphinx-docs.warc.gz")
ORIGINAL_SITE = "https://www.sphinx-doc.org/"
HELD_OUT_ONE_IN = 5


class _Chrome(HTMLParser):
    """Collects the visible text of a Sphinx page that lies outside its ``<div role="main">``."""

    INVISIBLE = {"script", "style", "svg"}
    BLOCKS = {"div", "p", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "title", "nav", "form"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.divs = 0
        self.main_at: int | None = None  # div depth of the main content while inside it
        self.hidden = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.parts.append("\n")  # a block boundary ends a line even where the HTML has no newline
        if tag in self.INVISIBLE:
            self.hidden += 1
        elif tag == "div":
            self.divs += 1
            if self.main_at is None and dict(attrs).get("role") == "main":
                self.main_at = self.divs

    def handle_endtag(self, tag):
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if tag in self.INVISIBLE:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "div" and self.divs:
            if self.main_at == self.divs:
                self.main_at = None
            self.divs -= 1

    def handle_data(self, data):
        if not self.hidden and self.main_at is None:
            self.parts.append(data)


def page_chrome(html: str) -> str:
    """The non-empty, stripped lines of a page's text outside its main content."""
    parser = _Chrome()
    parser.feed(html)
    parser.close()
    return "\n".join(line.strip() for line in "".join(parser.parts).splitlines() if line.strip())


def is_held_out(doc_id: str) -> bool:
    return int(hashlib.sha256(doc_id.encode("utf-8")).hexdigest(), 16) % HELD_OUT_ONE_IN == 0


def _reference_documents(path: Path, counts: Counter) -> list[tuple[str, str]]:
    docs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        counts["in"] += 1
        try:
            record = json.loads(line)
            doc_id, text, metadata = record["id"], record["text"], record.get("metadata", {})
        except (ValueError, KeyError, TypeError) as exc:
            raise GlassworksError(f"{path}:{number}: not a corpus document ({exc})") from None
        if "planted_from" in metadata:
            counts["dropped/planted_duplicate"] += 1
        else:
            docs.append((doc_id, text))
    return docs


def _chrome_documents(path: Path, counts: Counter) -> list[tuple[str, str]]:
    from warcio.archiveiterator import ArchiveIterator

    docs = []
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle):
            counts["in"] += 1
            url = record.rec_headers.get_header("WARC-Target-URI") or ""
            if record.rec_type != "response":
                counts["dropped/not_a_response"] += 1
            elif not url.startswith(ORIGINAL_SITE):
                counts["dropped/mirror_copy"] += 1
            else:
                docs.append((url, page_chrome(record.content_stream().read().decode("utf-8"))))
    return docs


def write_training_sets(data_dir: Path, out_dir: Path) -> tuple[dict[str, Path], Counter]:
    """Write ``{train,heldout}-{positive,negative}.jsonl`` under ``out_dir``; return them and the counts."""
    counts: Counter = Counter()
    sides = {"positive": _reference_documents(data_dir / REFERENCE_FILE, counts),
             "negative": _chrome_documents(data_dir / WEB_FILE, counts)}
    files = {}
    for side, docs in sides.items():
        for split in ("train", "heldout"):
            chosen = [(i, t) for i, t in docs if is_held_out(i) == (split == "heldout")]
            files[f"{split}-{side}"] = out_dir / f"{split}-{side}.jsonl"
            atomic_write_text(files[f"{split}-{side}"], "".join(
                json.dumps({"id": i, "text": t}, ensure_ascii=False, sort_keys=True) + "\n" for i, t in chosen))
            counts["kept"] += len(chosen)
    return files, counts


def evaluate(model_path: Path, positives: Path, negatives: Path) -> dict:
    """Accuracy at a 0.5 cut and ROC AUC (ties count half) of a model on two JSONL sets."""
    from glassworks.pipeline.quality.model import QualityModel

    model = QualityModel(model_path)
    pos, neg = ([json.loads(line)["text"] for line in p.read_text(encoding="utf-8").splitlines()]
                for p in (positives, negatives))
    hq, cc = model.scores(pos), model.scores(neg)
    if not hq or not cc:
        raise GlassworksError(f"{positives} and {negatives}: both sets need documents to evaluate")
    right = sum(s >= 0.5 for s in hq) + sum(s < 0.5 for s in cc)
    pairs = sum((a > b) + 0.5 * (a == b) for a in hq for b in cc)
    return {"positives": len(hq), "negatives": len(cc), "accuracy": right / (len(hq) + len(cc)),
            "auc": pairs / (len(hq) * len(cc)), "lowest_positive": min(hq), "highest_negative": max(cc)}


def build_shipped_model(data_dir: str | Path, out: str | Path = SHIPPED_MODEL,
                        run_dir: str | Path | None = None) -> dict:
    """Rebuild the demo model from ``data_dir`` into ``out``; returns training and held-out figures.

    With ``run_dir`` the training sets are kept under ``RUN/quality/demo-sets/`` and two stages
    are recorded: ``quality.demo_sets`` (data/ to sets) and ``quality.train`` (sets to model).
    """
    from glassworks.pipeline.quality.train import train_quality

    data_dir, out = Path(data_dir), Path(out)
    for rel in (REFERENCE_FILE, WEB_FILE):
        if not (data_dir / rel).is_file():
            raise GlassworksError(f"{data_dir / rel}: embedded corpus file not found")
    with contextlib.ExitStack() as stack:
        if run_dir is None:
            sets_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="glassworks-demo-sets-")))
            files, _ = write_training_sets(data_dir, sets_dir)
        else:
            sets_dir = Path(run_dir) / "quality" / "demo-sets"
            settings = {"reference": REFERENCE_FILE, "web": WEB_FILE, "held_out_one_in": HELD_OUT_ONE_IN}
            with record_stage(run_dir, "quality.demo_sets", "1", settings, roots={"data": data_dir}) as rec:
                files, counts = write_training_sets(data_dir, sets_dir)
                rec.input(data_dir / REFERENCE_FILE)
                rec.input(data_dir / WEB_FILE)
                rec.counts.add_in(counts.pop("in"))
                rec.counts.keep(counts.pop("kept"))
                for reason, n in counts.items():
                    rec.counts.drop(reason.removeprefix("dropped/"), n)
                rec.output(sets_dir)
        summary = train_quality(SHIPPED_CONFIG, files["train-positive"], files["train-negative"], out, run_dir)
        summary["held_out"] = evaluate(out, files["heldout-positive"], files["heldout-negative"])
    return summary
