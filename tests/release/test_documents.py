"""The generated documents of a built bundle read as written for this run: every path they
name is in the bundle, no sentence shows a template seam, the Hub would accept their licence
metadata, languages come from the language labels, and eval tables carry chance and stderr."""

import math
import re
from pathlib import Path

import pytest

from glassworks.release.bundle.cards import HUB_LICENCES, hub_licence

DOCUMENTS = ("README.md", "corpus/README.md", "docs/paper.md", "docs/technical-report.md")
PATHLIKE = re.compile(r"^[\w.-]+(/[\w.<>-]*)+$|^[\w.-]+\.(md|json|ya?ml|txt|png|tar\.gz|safetensors)$")


def _body(text: str) -> str:
    """The Markdown body without front matter and code blocks."""
    if text.startswith("---\n"):
        text = text.split("\n---\n", 1)[1]
    return re.sub(r"```.*?```", "", text, flags=re.S)


def _documents(bundle: Path) -> dict[str, str]:
    return {rel: (bundle / rel).read_text(encoding="utf-8") for rel in DOCUMENTS if (bundle / rel).is_file()}


def test_every_document_is_written(built):
    _, bundle = built
    assert set(_documents(bundle)) == set(DOCUMENTS)


def test_every_named_path_is_in_the_bundle(built):
    _, bundle = built
    for rel, text in _documents(bundle).items():
        body = _body(text)
        named = [t for t in re.findall(r"`([^`\s]+)`", body) if PATHLIKE.match(t)]
        linked = [(Path(rel).parent / t).as_posix() for t in re.findall(r"\]\(([^)#\s]+)\)", body)
                  if "://" not in t]
        if rel.endswith("README.md"):
            assert named, f"{rel}: a card that names no file of the bundle"
        for path in named + linked:
            assert "<" not in path, f"{rel}: a placeholder path {path}"
            # the data card quotes data/SOURCES.md, whose paths are the raw files in the code archive's data/
            assert (bundle / path.rstrip("/")).exists() or path.rstrip("/") in _archived_data(bundle), \
                f"{rel}: names {path}, which is not in the bundle"


def _archived_data(bundle: Path) -> set[str]:
    import tarfile

    found = set()
    for archive in (bundle / "code").glob("*.tar.gz"):
        with tarfile.open(archive) as tar:
            for name in tar.getnames():
                _, _, rest = name.partition("/data/")
                if rest:
                    found.update({rest, *(p.as_posix() for p in Path(rest).parents if p.as_posix() != ".")})
    return found


SEAMS = [
    (re.compile(r"\bNone\b"), "a None"),
    (re.compile(r"[{}]"), "a brace left from a format string"),
    (re.compile(r"\S  +\S"), "a doubled space"),
    (re.compile(r"\(\s*\)|\[\s*\]|``"), "an empty value"),
    (re.compile(r"\s[,.;:](\s|$)", re.M), "punctuation after an empty value"),
    (re.compile(r",\s*,|:\s*\.|\bnan\b|\binf\b"), "an empty or undefined number"),
    (re.compile(r"^\d[\d,.]*\s+(enter|leave|remain|are|were|is)\b", re.M), "a number without a noun"),
    (re.compile(r"\(s\)"), "a '(s)' plural"),
]


def test_no_template_seams(built, trained_run):
    import json

    _, bundle = built
    stages = [json.loads(p.read_text())["stage"]["name"] for p in (trained_run / "manifests").glob("*.json")]
    recipes = {s.split(".", 1)[0] for s in stages
               if json.loads(next((trained_run / "manifests").glob(f"{s}-*.json")).read_text())["config"].get("recipe")}
    others = {s.split(".", 1)[0] for s in stages} - recipes
    for rel, text in _documents(bundle).items():
        for number, line in enumerate(_body(text).splitlines(), 1):
            if line.startswith("|") or line.startswith("!["):
                continue
            for pattern, what in SEAMS:
                assert not pattern.search(line), f"{rel} line {number}: {what}: {line!r}"
            for prefix in others:  # a list built from every stage prefix, not from the recipes
                for recipe in recipes:
                    assert not re.search(rf"\b{prefix}(, | and ){recipe}\b|\b{recipe}(, | and ){prefix}\b", line), \
                        f"{rel} line {number}: stage prefix {prefix!r} listed with recipe {recipe!r}: {line!r}"


def _hub_ok(meta, bundle: Path) -> None:
    licence = meta.license
    ids = licence if isinstance(licence, list) else [licence]
    assert ids and all(i in HUB_LICENCES | {"other"} for i in ids), f"not a Hub licence id: {licence}"
    if "other" in ids:
        name, link = getattr(meta, "license_name", None), getattr(meta, "license_link", None)
        assert name and re.fullmatch(r"[a-z0-9][a-z0-9.-]*", name), f"license_name {name!r}"
        assert link and (bundle / link).exists(), f"license_link {link!r} is not in the bundle"


def test_hub_licence_metadata_is_valid(built):
    from huggingface_hub import DatasetCard, ModelCard

    _, bundle = built
    _hub_ok(ModelCard.load(bundle / "README.md").data, bundle)
    _hub_ok(DatasetCard.load(bundle / "corpus" / "README.md").data, bundle)


@pytest.mark.parametrize("spdx, expected", [
    ("CDLA-Permissive-2.0", {"license": "cdla-permissive-2.0"}),
    ("PDDL-1.0", {"license": "pddl"}),
    ("GPL-2.0-only", {"license": "gpl-2.0"}),
    ("GPL-2.0-or-later", {"license": "other", "license_name": "gpl-2.0-or-later",
                          "license_link": "LICENSES/GPL-2.0-or-later.txt"}),
])
def test_hub_licence_mapping(tmp_path, spdx, expected):
    (tmp_path / "LICENSES").mkdir()
    (tmp_path / "LICENSES" / f"{spdx}.txt").write_text("text")
    assert hub_licence(spdx, tmp_path) == expected


def test_languages_come_from_the_language_labels(built):
    from huggingface_hub import DatasetCard, ModelCard

    _, bundle = built
    # the run's slimpajama documents hold English Sphinx docs and Spanish Bible chapters (fastText labels);
    # the bundle config says only `language: [en]`, which must not be what the cards state
    for card in (ModelCard.load(bundle / "README.md"), DatasetCard.load(bundle / "corpus" / "README.md")):
        assert card.data.language[:2] == ["en", "es"], card.data.language
    assert "Spanish" in (bundle / "docs" / "paper.md").read_text()


def _eval_tables(text: str) -> list[list[dict]]:
    tables, current, header = [], [], None
    for line in text.splitlines():
        if line.startswith("|") and "stderr" in line and "chance" in line:
            header, current = [c.strip() for c in line.strip("|").split("|")], []
            tables.append(current)
        elif header and line.startswith("|") and not line.startswith("|---"):
            current.append(dict(zip(header, [c.strip() for c in line.strip("|").split("|")])))
        elif not line.startswith("|"):
            header = None
    return tables


def test_eval_tables_carry_chance_and_stderr(built, trained_run):
    _, bundle = built
    for rel in ("README.md", "docs/paper.md", "docs/technical-report.md"):
        tables = _eval_tables((bundle / rel).read_text())
        assert tables and all(tables), f"{rel}: no eval table with stderr and chance columns"
        for row in (r for t in tables for r in t):
            assert row["chance"] != "-", f"{rel}: no chance baseline for {row}"
            assert row["stderr"] != "-" and row["95 % interval"] != "-", f"{rel}: no stderr for {row}"
            if row["metric"].startswith("acc"):
                assert row["items"] != "-", f"{rel}: an accuracy without its item count: {row}"
    row = _eval_tables((bundle / "docs" / "paper.md").read_text())[0][0]
    assert float(row["chance"]) == pytest.approx(math.log(256), abs=1e-3)  # the fixture's byte-level loss


def test_binomial_stderr_and_bootstrap():
    from glassworks.release.bundle.facts import EvalRow, _bootstrap, _stderr

    stderr, basis = _stderr("acc", 0.375, "N/A", 8, None)
    assert basis == "binomial" and stderr == pytest.approx(math.sqrt(0.375 * 0.625 / 7))
    low, high = EvalRow("t", "acc", 0.125, stderr, "r", n=8, stderr_basis="binomial").ci95
    assert 0.0 < low < 0.125 < high < 1.0  # Wilson's interval stays inside [0, 1]
    pairs = [[-100.0, 40], [-300.0, 90], [-50.0, 30], [-220.0, 70]]
    first = _bootstrap("bits_per_byte", pairs)
    assert first == _bootstrap("bits_per_byte", pairs) and first > 0
    assert _stderr("bits_per_byte", 3.0, "N/A", 4, None) == (None, "")


def test_data_card_quotes_the_release_reasoning_or_says_it_is_missing(built):
    from glassworks.release.bundle.facts import RELEASE_SECTION

    _, bundle = built
    card = (bundle / "corpus" / "README.md").read_text()
    listing = (Path(__file__).resolve().parents[2] / "data" / "SOURCES.md").read_text()
    if RELEASE_SECTION in listing:
        first = listing.split(RELEASE_SECTION, 1)[1].strip().splitlines()[0]
        assert first in card
    else:
        assert "per-source reasoning for this licence is not available" in card
