"""Model-based quality filtering as datatrove steps: keep above a threshold, or a top fraction.

``FastTextQualityFilter`` scores every unsettled document with a fastText classifier and
stores ``metadata["quality"] = {"model": <sha256[:16] of the model file>, "score": P(hq)}``.

- Threshold (one pass): a document scoring below ``threshold`` is marked dropped,
  ``quality_below_threshold``; DCLM's filter keeps ``score >= threshold`` likewise.
- Top fraction (two passes): which documents are in the top 10% depends on every score, and
  datatrove tasks see only their own shard. Pass 1 runs ``FastTextQualityFilter`` with
  ``scores_dir``: each task writes ``<scores_dir>/<rank>-of-<world>.jsonl`` (id, model,
  score per document) when it finishes, and drops nothing. Pass 2 runs ``TopFraction`` over
  pass 1's output, in any number of tasks: each reads every score file, checks that all of
  pass 1's tasks finished and used one model, orders all documents by score (higher first)
  then by id, and keeps the first ``ceil(fraction * n)``; the rest are marked dropped,
  ``quality_not_in_top_fraction``. The order is total, so the kept set does not depend on
  task counts, shard order or ties. This is also what DCLM advises for tuning: keep the
  scores, then choose the cut.

Settled documents (dropped or quarantined upstream) pass through both steps untouched.

Any fastText supervised model with a ``__label__hq`` label serves, ``.bin`` or quantised
``.ftz``, with or without word n-grams: DCLM's published classifier
(``openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train.bin``, labels ``__label__hq`` and
``__label__cc``, bigrams) is one; the recipe names it by ``model_path``. The step checks
only that the file exists when it is built (a multi-gigabyte model is loaded in the tasks).

The recipe parameters of the three steps are the dataclasses at the end of this module;
their checks run while the recipe is read, so an error names the recipe file and line.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from glassworks.errors import GlassworksError
from glassworks.pipeline.documents import is_settled, mark_dropped
from glassworks.provenance.atomic import atomic_write_text

BELOW_THRESHOLD, NOT_IN_TOP = "quality_below_threshold", "quality_not_in_top_fraction"
SCORE_FILE = re.compile(r"^(\d{5})-of-(\d{5})\.jsonl$")


def model_file_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be a model file, checked when a step is built rather than in every task."""
    if Path(path).is_file():
        return None
    return f"{path}: {'is a directory, not a model file' if Path(path).is_dir() else 'quality model not found'}"


def check_fraction(fraction: float) -> None:
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction}")


class FastTextQualityFilter(PipelineStep):
    """Score documents with a fastText quality model; drop below ``threshold``, or record scores."""

    name = "🏅 fastText quality"
    type = "🔻 - FILTER"

    def __init__(self, model_path: str | Path, threshold: float | None = None,
                 scores_dir: str | Path | None = None, batch_size: int = 256):
        super().__init__()
        if (threshold is None) == (scores_dir is None):
            raise ValueError("give either a threshold (one pass) or a scores_dir (pass 1 of a top fraction)")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
        if problem := model_file_problem(model_path):
            raise FileNotFoundError(problem)
        self.model_path = Path(model_path)
        self.threshold = threshold
        self.scores_dir = Path(scores_dir) if scores_dir is not None else None
        self.batch_size = batch_size

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from glassworks.pipeline.quality.model import QualityModel

        model = QualityModel(self.model_path)  # loaded here: a fastText model does not pickle to workers
        records: list[str] = []
        batch: list[Document] = []
        for doc in data:
            batch.append(doc)
            if len(batch) >= self.batch_size:
                yield from self._judge(model, batch, records)
                batch = []
        yield from self._judge(model, batch, records)
        if self.scores_dir is not None:
            atomic_write_text(self.scores_dir / f"{rank:05d}-of-{world_size:05d}.jsonl", "".join(records))

    def _judge(self, model, batch: list[Document], records: list[str]) -> DocumentsPipeline:
        todo = [doc for doc in batch if not is_settled(doc)]
        for doc, score in zip(todo, model.scores([doc.text for doc in todo])):
            self.stat_update("total")
            doc.metadata["quality"] = {"model": model.id, "score": score}
            if self.scores_dir is not None:
                records.append(json.dumps({"id": doc.id, "model": model.id, "score": score}, ensure_ascii=False) + "\n")
                self.stat_update("scored")
            elif score < self.threshold:
                self.stat_update(f"dropped/{BELOW_THRESHOLD}")
                mark_dropped(doc, BELOW_THRESHOLD)
            else:
                self.stat_update("forwarded")
        yield from batch


@dataclass(frozen=True)
class Cutoff:
    """The last kept document in the order (score descending, id ascending); none when ``kept`` is 0."""

    model: str
    total: int
    kept: int
    score: float | None
    doc_id: str | None

    def keeps(self, score: float, doc_id: str) -> bool:
        return self.kept > 0 and (-score, doc_id) <= (-self.score, self.doc_id)


def top_fraction_cutoff(scores_dir: str | Path, fraction: float) -> Cutoff:
    """Read every score file of pass 1 and find where the top ``fraction`` of documents ends."""
    check_fraction(fraction)
    scores_dir = Path(scores_dir)
    files = sorted(scores_dir.glob("*.jsonl")) if scores_dir.is_dir() else []
    names = [SCORE_FILE.match(f.name) for f in files]
    worlds = {int(m.group(2)) for m in names if m}
    ranks = {int(m.group(1)) for m in names if m}
    if None in names or len(worlds) != 1 or ranks != set(range(next(iter(worlds)))):
        found = ", ".join(f.name for f in files) or "none"
        raise GlassworksError(f"{scores_dir}: expected one score file per task of pass 1, all '<rank>-of-<world>"
                              f".jsonl' with one world size; found {found} (did every task finish?)")
    entries: list[tuple[float, str]] = []
    seen: dict[str, str] = {}
    models: set[str] = set()
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{file}:{number}"
            try:
                record = json.loads(line)
                score, doc_id, model = float(record["score"]), str(record["id"]), str(record["model"])
            except (ValueError, KeyError, TypeError) as exc:
                raise GlassworksError(f"{where}: not a score record ({exc})") from None
            if doc_id in seen:
                raise GlassworksError(f"{where}: document id {doc_id!r} was also scored at {seen[doc_id]}; "
                                      "ids must be unique to break ties")
            seen[doc_id] = where
            models.add(model)
            entries.append((-score, doc_id))
    if len(models) > 1:
        raise GlassworksError(f"{scores_dir}: scores from several models ({', '.join(sorted(models))})")
    kept = math.ceil(Decimal(repr(fraction)) * len(entries))
    model = models.pop() if models else ""
    if kept == 0:
        return Cutoff(model, len(entries), 0, None, None)
    last = sorted(entries)[kept - 1]
    return Cutoff(model, len(entries), kept, -last[0], last[1])


class TopFraction(PipelineStep):
    """Pass 2 of a top-fraction filter: keep the documents that ``top_fraction_cutoff`` admits."""

    name = "🏅 quality top fraction"
    type = "🔻 - FILTER"

    def __init__(self, scores_dir: str | Path, fraction: float):
        super().__init__()
        check_fraction(fraction)
        self.scores_dir = Path(scores_dir)
        self.fraction = fraction

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        cutoff = top_fraction_cutoff(self.scores_dir, self.fraction)
        for doc in data:
            if is_settled(doc):
                yield doc
                continue
            self.stat_update("total")
            quality = doc.metadata.get("quality")
            if not isinstance(quality, dict) or quality.get("model") != cutoff.model or "score" not in quality:
                raise GlassworksError(f"document {doc.id!r} has no score from model {cutoff.model!r} in "
                                      f"{self.scores_dir} (run FastTextQualityFilter with scores_dir first)")
            if cutoff.keeps(float(quality["score"]), doc.id):
                self.stat_update("forwarded")
            else:
                self.stat_update(f"dropped/{NOT_IN_TOP}")
                mark_dropped(doc, NOT_IN_TOP)
            yield doc


@dataclass(frozen=True)
class QualityThresholdParams:
    """Recipe parameters of ``fasttext_quality_threshold``."""

    threshold: float  # keep score >= threshold, as DCLM's filter does
    model_path: Path | None = None  # any fastText model with __label__hq; default: the shipped demo classifier

    def __post_init__(self):
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {self.threshold}")
        if self.model_path is not None and (problem := model_file_problem(self.model_path)):
            raise ValueError(problem)


@dataclass(frozen=True)
class QualityScoresParams:
    """Recipe parameters of ``fasttext_quality_scores`` (pass 1 of a top-fraction cut)."""

    scores_dir: str  # inside the stage's log folder, e.g. "{run}/logs/dclm/score/scores": reset with the stage
    model_path: Path | None = None  # any fastText model with __label__hq; default: the shipped demo classifier

    def __post_init__(self):
        if self.model_path is not None and (problem := model_file_problem(self.model_path)):
            raise ValueError(problem)


@dataclass(frozen=True)
class TopFractionParams:
    """Recipe parameters of ``quality_top_fraction`` (pass 2)."""

    scores_dir: str  # the scores pass 1 wrote
    fraction: float  # share of documents to keep, best scores first (DCLM: 0.1, its top 10 %)

    def __post_init__(self):
        check_fraction(self.fraction)
