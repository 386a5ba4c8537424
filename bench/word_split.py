"""Benchmark: the stock filters splitting words with spaCy against FastEnglishTokenizer.

Gopher quality, Gopher repetition, C4 and FineWeb run on the English texts of the embedded
corpus (the reST docs, and the WARC pages as text when resiliparse is installed), whole and
cut into windows of a few dozen lines so that more documents sit near a threshold. Each
filter judges its own copy of every document, once with spaCy's words and once with the fast
splitter; a decision is the verdict with its reason. Throughput is the input bytes over the
time all four filters take, and over the time the splitter alone takes to split every text
into words, each splitter starting cold. Prints one JSON line.

    python bench/word_split.py [--window 30] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from datatrove.data import Document
from datatrove.utils.text import split_into_parts
from datatrove.utils.word_tokenizers import SpaCyTokenizer

from glassworks.pipeline.filters.heuristics import stock_filters
from glassworks.pipeline.filters.words import FastEnglishTokenizer

DATA = Path(__file__).resolve().parents[1] / "data"


def english_texts() -> dict[str, list[str]]:
    """The corpus' English texts by source; WARC pages only if resiliparse can extract them."""
    lines = (DATA / "text" / "sphinx-docs-rst.jsonl").read_text(encoding="utf-8").splitlines()
    texts = {"rst": [json.loads(line)["text"] for line in lines]}
    try:
        from resiliparse.extract.html2text import extract_plain_text
    except ImportError:
        return texts
    from warcio.archiveiterator import ArchiveIterator

    with open(DATA / "web" / "sphinx-docs.warc.gz", "rb") as handle:
        pages = [r.content_stream().read() for r in ArchiveIterator(handle) if r.rec_type == "response"]
    texts["warc"] = [extract_plain_text(html.decode("utf-8", "replace"), main_content=True) for html in pages]
    return texts


def windows(texts: list[str], size: int) -> list[str]:
    """Every run of ``size`` lines, stepping by ``size``: smaller documents nearer the thresholds."""
    out = []
    for text in texts:
        lines = text.split("\n")
        out += ["\n".join(lines[i : i + size]) for i in range(0, len(lines), size) if len(lines) > size]
    return out


def decide(words, texts: list[str]) -> tuple[dict[str, list], float]:
    """Each filter's decision on each text, and the seconds all of them took."""
    split_into_parts.cache_clear()
    made = stock_filters(words)
    decisions: dict[str, list] = {name: [] for name in made}
    start = time.perf_counter()
    for i, text in enumerate(texts):
        for name, step in made.items():
            verdict = step.filter(Document(text=text, id=str(i)))
            decisions[name].append(verdict if isinstance(verdict, tuple) else (verdict, None))
    return decisions, time.perf_counter() - start


def fresh(label: str):
    """A cold splitter, its pipeline loaded (spaCy builds it on first use)."""
    splitter = SpaCyTokenizer("en") if label == "spacy" else FastEnglishTokenizer()
    splitter.word_tokenize("warm up")
    return splitter


def agreement(texts: list[str], repeat: int = 1) -> dict:
    """Each filter's decisions with spaCy's and with the fast splitter's words, and the time."""
    decisions, seconds = {}, {}
    for label in ("spacy", "fast"):
        for _ in range(repeat):
            decisions[label], took = decide(fresh(label), texts)
            seconds[label] = min(seconds.get(label, took), took)
    spacy, fast = decisions["spacy"], decisions["fast"]
    size = sum(len(t.encode("utf-8")) for t in texts)
    return {
        "agree": round(sum(all(spacy[n][i] == fast[n][i] for n in spacy) for i in range(len(texts))) / len(texts), 4),
        "per_filter": {n: round(sum(a == b for a, b in zip(spacy[n], fast[n])) / len(texts), 4) for n in spacy},
        "kept_spacy": {n: sum(verdict for verdict, _ in spacy[n]) for n in spacy},
        "filters_mb_s": {k: round(size / v / 1e6, 3) for k, v in seconds.items()},
        "filters_speedup": round(seconds["spacy"] / seconds["fast"], 2),
    }


def splitting(texts: list[str], repeat: int = 1) -> dict:
    """The splitters alone: words of every text, how often both give the same, and the time."""
    words, seconds = {}, {}
    for label in ("spacy", "fast"):
        for _ in range(repeat):
            splitter = fresh(label)
            start = time.perf_counter()
            words[label] = [splitter.word_tokenize(t) for t in texts]
            took = time.perf_counter() - start
            seconds[label] = min(seconds.get(label, took), took)
    size = sum(len(t.encode("utf-8")) for t in texts)
    return {
        "identical_words": round(sum(a == b for a, b in zip(words["spacy"], words["fast"])) / len(texts), 4),
        "words_mb_s": {k: round(size / v / 1e6, 3) for k, v in seconds.items()},
        "words_speedup": round(seconds["spacy"] / seconds["fast"], 2),
        "mb": round(size / 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=30, help="lines per window document")
    parser.add_argument("--repeat", type=int, default=1, help="cold runs per splitter; the best is kept")
    args = parser.parse_args()
    by_source = english_texts()
    whole = [t for texts in by_source.values() for t in texts]
    cut = windows(whole, args.window)
    print(json.dumps({
        "bench": "word_split",
        "docs": len(whole),
        "windows": len(cut),
        "sources": {k: len(v) for k, v in by_source.items()},
        **agreement(whole + cut, args.repeat),
        **splitting(whole + cut, args.repeat),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
