"""Language by file name, extension and shebang; the tagger on the corpus; the language filter."""

import pytest

from glassworks.pipeline.code.languages import (
    _EXTENSIONS,
    EXTENSIONS,
    LANGUAGES,
    LanguageFilter,
    LanguageFilterConfig,
    LanguageTagger,
    detect_language,
)
from glassworks.pipeline.documents import mark_dropped


@pytest.mark.parametrize("path, head, language", [
    ("src/app.py", "", "Python"),
    ("Include/listobject.h", "", "C"),
    ("lib/vec.HPP", "", "C++"),
    ("a/Makefile", "", "Makefile"),
    ("build/rules.mk", "", "Makefile"),
    ("Dockerfile", "", "Dockerfile"),
    ("docker/Dockerfile.dev", "", "Dockerfile"),
    ("CMakeLists.txt", "", "CMake"),
    ("notes.txt", "", "Text"),
    ("Gemfile", "", "Ruby"),
    ("main.tf", "", "HCL"),
    ("bin/tool", "#!/usr/bin/env python3\nimport os\n", "Python"),
    ("bin/tool", "#!/bin/sh -e\n", "Shell"),
    ("bin/tool", "#! /usr/bin/perl -w\n", "Perl"),
    ("bin/tool", "#!/usr/bin/env -S node --harmony\n", "JavaScript"),
    ("bin/tool", "#!/opt/homebrew/bin/bash\n", "Shell"),
    ("run.py", "#!/bin/sh\n", "Python"),  # the extension is the stronger evidence
    ("COPYING", "GNU GENERAL PUBLIC LICENSE\n", None),
    ("bin/tool", "#!/usr/bin/unknown-interpreter\n", None),
    ("data.weird", "", None),
])
def test_detect_language(path, head, language):
    assert detect_language(path, head) == language


def test_map_is_broad_and_unambiguous():
    listed = [ext for exts in _EXTENSIONS.values() for ext in exts.split()]
    assert len(listed) == len(EXTENSIONS)  # no extension claimed by two languages
    assert len(LANGUAGES) >= 60


def test_tagger_on_the_embedded_corpus(corpus, helpers):
    docs = {d.id: d.metadata["language"] for d in helpers.run([LanguageTagger()], corpus)}
    assert docs["debianutils/add-shell"] == "Shell"  # no extension: the shebang
    assert docs["docs-vendor/include/yaml.h"] == "C"
    assert docs["toml/toml/decoder.py"] == "Python"
    assert docs["toml/LICENSE"] is None and docs["python-apt/COPYING"] is None


def test_tagger_overrides_and_leaves_settled_documents(helpers):
    doc = helpers.make("#!/bin/bash\necho hi\n", "r/script", language=None)
    settled = mark_dropped(helpers.make("", "r/x.py", language="stale"), "earlier")
    helpers.run([LanguageTagger()], [doc, settled])
    assert doc.metadata["language"] == "Shell" and settled.metadata["language"] == "stale"


def test_language_filter(helpers):
    default = LanguageFilter()
    assert default.filter(helpers.make("x", language="Python")) is True
    assert default.filter(helpers.make("x", language="Text")) == (False, "language:Text")
    assert default.filter(helpers.make("x", language=None)) == (False, "language:unknown")
    only_c = LanguageFilter(LanguageFilterConfig(frozenset({"C", "C++"})))
    assert only_c.filter(helpers.make("x", language="Python")) == (False, "language:Python")
    assert only_c.filter(helpers.make("x", language="C++")) is True
    with pytest.raises(ValueError, match="Pyhton"):
        LanguageFilter(LanguageFilterConfig(frozenset({"Pyhton"})))
