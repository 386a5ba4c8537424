"""Shared helpers: the embedded code corpus, and running steps in process."""

from pathlib import Path

import pytest
from datatrove.data import Document

from glassworks.pipeline.readers import CodeTreeReader

CODE = Path(__file__).resolve().parents[3] / "data" / "code"


def run_steps(steps, docs=None, rank: int = 0, world_size: int = 1) -> list[Document]:
    """Chain datatrove steps as an executor does (without one) and collect what comes out."""
    data = docs
    for step in steps:
        data = step.run(data, rank, world_size)
    return list(data or [])


def doc(text: str, doc_id: str = "repo/file.py", **metadata) -> Document:
    repo, _, path = doc_id.partition("/")
    return Document(text=text, id=doc_id, metadata={"repo": repo, "path": path, **metadata})


@pytest.fixture
def corpus() -> list[Document]:
    """Every file of data/code as CodeTreeReader yields it (one task)."""
    return run_steps([CodeTreeReader(CODE)])


@pytest.fixture
def helpers():
    class Helpers:
        code = CODE
        run = staticmethod(run_steps)
        make = staticmethod(doc)

    return Helpers
