"""Opt-out lists: parsing, matching whole repositories and path globs, and bad lists."""

import pytest

from glassworks.pipeline.code.optout import OptOut, OptOutFilter, load_opt_outs
from glassworks.pipeline.documents import DROP, MarkingFilter

LIST = """# opt-out requests, one a line
toml                         # whole repository (request 2026-01-04)

python-apt/apt/progress/*.py
sphinx-utils/sphinx/util/
debianutils/add-shell
"""


def test_parse(tmp_path):
    (tmp_path / "optout.txt").write_text(LIST)
    assert load_opt_outs(tmp_path / "optout.txt") == (
        OptOut("toml", None, 2), OptOut("python-apt", "apt/progress/*.py", 4),
        OptOut("sphinx-utils", "sphinx/util/*", 5), OptOut("debianutils", "add-shell", 6),
    )


def test_filter_on_the_embedded_corpus(tmp_path, corpus, helpers):
    (tmp_path / "optout.txt").write_text(LIST)
    docs = helpers.run([MarkingFilter(OptOutFilter(tmp_path / "optout.txt"), "optout")], corpus)
    opted = sorted(d.id for d in docs if d.metadata.get(DROP) == "optout:opt_out")
    assert opted == [
        "debianutils/add-shell", "python-apt/apt/progress/__init__.py", "python-apt/apt/progress/base.py",
        "python-apt/apt/progress/text.py", "sphinx-utils/sphinx/util/docstrings.py",
        "sphinx-utils/sphinx/util/matching.py", "sphinx-utils/sphinx/util/png.py", "sphinx-utils/sphinx/util/rst.py",
        "sphinx-utils/sphinx/util/tags.py", "toml/LICENSE", "toml/toml/__init__.py", "toml/toml/decoder.py",
        "toml/toml/encoder.py", "toml/toml/ordered.py", "toml/toml/tz.py",
    ]
    assert len(docs) == len(corpus)


def test_matching_is_exact_on_repository_names(tmp_path, helpers):
    (tmp_path / "optout.txt").write_text("toml\nlib/src/*.c\n")
    optout = OptOutFilter(tmp_path / "optout.txt")
    assert optout.filter(helpers.make("x", "toml-extra/a.py")) is True
    assert optout.filter(helpers.make("x", "lib/src/deep/a.c")) == (False, "opt_out")  # fnmatch: * crosses /
    assert optout.filter(helpers.make("x", "lib/include/a.h")) is True


def test_empty_list_opts_nothing_out(tmp_path, helpers):
    (tmp_path / "optout.txt").write_text("# nobody asked yet\n\n")
    assert OptOutFilter(tmp_path / "optout.txt").filter(helpers.make("x")) is True


def test_missing_and_malformed_lists(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt: opt-out list not found"):
        OptOutFilter(tmp_path / "nope.txt")
    (tmp_path / "bad.txt").write_text("toml\n/etc/passwd\n")
    with pytest.raises(ValueError, match=r"bad.txt:2: '/etc/passwd'"):
        OptOutFilter(tmp_path / "bad.txt")
