# SPDX-FileCopyrightText: 2026 The glassworks authors
# SPDX-License-Identifier: Apache-2.0
"""Whether each embedded source may be released inside the compiled training data, and why.

A release that ships the documents it trained on (MOF's Datasets component) declares one
licence for them, and the Model Openness Tool accepts only open-data licences there
(CDLA-Permissive-2.0, CC0-1.0, PDDL-1.0, CC-PDDC, OpenMDW-1.0). The compilation can carry
such a licence only if every document in it may be redistributed inside it. This table
argues that per source; SOURCES.md renders it under "Releasing the compiled data", and
the release helper embeds that section in the data card.
"""
from __future__ import annotations

from dataclasses import dataclass

# The one licence the compiled training data (documents, dedup weights, token shards) declares.
DATASET_LICENSE = "CDLA-Permissive-2.0"


@dataclass(frozen=True)
class Release:
    """One source: where its documents go and on what terms they may ship."""

    files: str          # path(s) under data/
    licence: str        # SPDX expression of the documents
    trained: str        # which recipes' output (and so the training data) the documents reach
    released: bool      # may its documents ship inside the DATASET_LICENSE compilation
    notice: str         # where the licence notice travels with each document
    why: str


RELEASE = [
    Release("web/sphinx-docs.warc.gz", "BSD-2-Clause",
            "yes: slimpajama (web) and dclm", True,
            "not in the WARC record: the release attaches `license` and `notice` from "
            "`REUSE.toml` (this file's annotation) to every document of the source",
            "BSD-2-Clause lets anyone redistribute the pages, modified or not (extraction "
            "to plain text is a modification), on three conditions: keep the copyright "
            "notice, the two conditions and the disclaimer. It does not forbid shipping "
            "the documents inside a larger collection under other terms. "
            f"{DATASET_LICENSE} asks only that whoever shares the data passes its text on, "
            "which does not conflict with those conditions, so a recipient can keep both. "
            f"{DATASET_LICENSE} covers glassworks' part (selection, extraction, dedup "
            "weights, metadata, token shards); the pages stay the Sphinx team's, under "
            "BSD-2-Clause, and say so."),
    Release("text/sphinx-docs-rst.jsonl", "BSD-2-Clause", "yes: slimpajama (text)", True,
            "`metadata.license` and `metadata.notice` (holders, conditions and disclaimer) "
            "of every document",
            "As for the web pages: the same documentation, in its reST sources, under the "
            "same BSD-2-Clause terms."),
    Release("text/reina-valera-1909.jsonl", "LicenseRef-Public-Domain",
            "yes: slimpajama (text)", True,
            "`metadata.license` and `metadata.notice` (the publisher's public-domain "
            "statement) of every document",
            "Public domain: eBible.org's statement in Debian's copyright file is \"This work "
            "is not copyrighted. It is in the Public Domain. You may copy and publish this "
            "work freely, but you may not claim copyright on it.\" Anything may ship it; "
            f"{DATASET_LICENSE} then covers only glassworks' selection and metadata, and the "
            "data card says that the text itself is public domain, claiming no copyright in it."),
    Release("code/sphinx-utils/", "BSD-2-Clause",
            "yes: stack (passes the licence allowlist)", True,
            "`metadata.license` (SPDX id and licence file) of every document; the notice "
            "itself lives in the repository's `LICENSE`, which the stack recipe drops as "
            "a file of no programming language, so the release must attach it",
            "BSD-2-Clause, as for the documentation: redistribution inside the compilation "
            "is allowed when each file keeps the Sphinx team's notice, conditions and "
            "disclaimer."),
    Release("code/toml/", "MIT", "yes: stack (passes the licence allowlist)", True,
            "as for `code/sphinx-utils/`: `metadata.license` of every document, the notice "
            "in the repository's `LICENSE`, attached by the release",
            "MIT grants the right to \"sublicense\" outright, on one condition: the copyright "
            "notice and the permission notice go with all copies or substantial portions. "
            f"The files may therefore even be sublicensed under {DATASET_LICENSE}, as long as "
            "the MIT notice of the toml authors travels with them."),
    Release("code/docs-vendor/", "MIT AND BSD-2-Clause",
            "no: the stack recipe drops it (`license:no_license`: no licence file)", True,
            "not needed in the released data (dropped); in the repository, `REUSE.toml`",
            "Dropped before training on purpose (a licence filter cannot see its licences). "
            "Were it kept, the MIT and BSD-2-Clause reasoning above would apply."),
    Release("code/python-apt/", "GPL-2.0-or-later",
            "no: the stack recipe drops every file (`license:not_allowlisted:GPL-2.0-or-later`)",
            False, "-",
            "GPL-2.0-or-later requires that copies and derived works be distributed under "
            "the GPL itself; it cannot ship inside a permissively licensed compilation. It "
            "is in the repository only as input that the Stack recipe's licence filter must "
            "reject, and none of its documents reaches the recipe's output, the training "
            "data or a released dataset. A recipe that kept it could not be released under "
            f"{DATASET_LICENSE}."),
    Release("code/debianutils/", "GPL-2.0-or-later",
            "no: the stack recipe drops every file (`license:not_allowlisted:GPL-2.0-or-later`)",
            False, "-", "As for `code/python-apt/`."),
]


def release_section() -> list[str]:
    """The `## Releasing the compiled data` section of SOURCES.md, as lines."""
    from corpus_sources import md_table

    rows = [[f"`{r.files}`", r.licence, r.trained, "yes" if r.released else "no", r.notice]
            for r in RELEASE]
    lines = ["", "## Releasing the compiled data", "",
             f"The documents a model trains on can ship as one dataset under **{DATASET_LICENSE}**,",
             "an open-data licence the Model Openness Tool accepts for data, because every source",
             "that reaches the training data allows it, as argued below. That licence covers what",
             "glassworks adds (the selection, the extracted text, dedup weights, metadata and",
             "token shards); it does not take away the rights of the documents' authors. Each",
             "document keeps its own licence and notice, and the dataset says so.", ""]
    lines += md_table(["source", "licence", "reaches training", "may ship in the dataset",
                       "where the notice travels"], rows)
    lines += ["", "Per source:", ""]
    lines += [f"- `{r.files}` ({r.licence}): {r.why}" for r in RELEASE]
    lines += ["", "What a release must do for this to hold:", "",
              "- Ship each document with `license` and `notice` (in its metadata), or, where a",
              "  stage cannot carry metadata (token shards), ship the notices and licence texts",
              "  of every source beside the shards and name the sources in the data card.",
              f"- Ship the text of {DATASET_LICENSE} and of each document licence (BSD-2-Clause,",
              "  MIT) with the dataset; say that the Reina-Valera text is public domain.",
              "- Never let a recipe keep a GPL repository: the GPL sources above are for testing",
              "  the licence filter, and a dataset that held them could not carry this licence.", ""]
    return lines
