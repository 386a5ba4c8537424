"""Licence detection: the five embedded repositories, dual licences, headers, bad licence files, and the
standard licence texts Debian ships, which the regular expressions before ScanCode missed."""

import os
import re
import subprocess
import sys
from pathlib import Path

import licensedcode
import pytest
from datatrove.data import Document

from glassworks.pipeline.code.licenses import (
    LicenseDetector,
    detect_repo_license,
    satisfied,
    stated_expression,
)
from glassworks.pipeline.documents import mark_quarantined

REPO = Path(__file__).resolve().parents[3]
# Full texts: ScanCode reads a clipped licence for what it is (BSD without its disclaimer is
# ScanCode's bsd-no-disclaimer, not BSD-2-Clause), so the fixtures are the real thing.
MIT = (REPO / "LICENSES/MIT.txt").read_text()
APACHE = (REPO / "LICENSES/Apache-2.0.txt").read_text()
BSD2 = (REPO / "LICENSES/BSD-2-Clause.txt").read_text()
COMMON = Path("/usr/share/common-licenses")  # Debian's base-files


def scancode_text(key: str) -> str:
    """A reference licence text shipped in ScanCode's data (its YAML header cut off)."""
    text = (Path(licensedcode.__file__).parent / "data/licenses" / f"{key}.LICENSE").read_text()
    return text.split("\n---\n", 1)[1]


GPL2_NOTICE = """# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 2 of the License, or
# (at your option) any later version.
"""


def make_repo(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


@pytest.mark.parametrize("repo, spdx, source, osi", [
    ("sphinx-utils", "BSD-2-Clause", "license_file", True),  # LICENSE rebuilt from Debian's BSD-2-clause text
    ("toml", "MIT", "license_file", True),
    ("python-apt", "GPL-2.0-or-later", "license_file", True),
    ("debianutils", "GPL-2.0-or-later", "license_file", True),
    ("docs-vendor", None, "none", None),  # no licence file, and no header states a licence
])
def test_embedded_repositories(helpers, repo, spdx, source, osi):
    found = detect_repo_license(helpers.code / repo).metadata()
    assert (found["spdx"], found["source"], found["osi_approved"]) == (spdx, source, osi)
    assert found["unresolved"] == []


def test_gpl_version_comes_from_the_headers(helpers):
    # COPYING is the bare GPL-2 text; "or later" is said by update-shells' SPDX line and
    # by python-apt's notices (one of them an SPDX "GPL-2.0+", normalised).
    assert detect_repo_license(helpers.code / "debianutils").files == ("COPYING", "update-shells")
    apt = detect_repo_license(helpers.code / "python-apt")
    assert apt.files[0] == "COPYING" and "aptsources/_deb822.py" in apt.files and "apt/cdrom.py" in apt.files


def test_gpl_text_alone_is_only_and_a_conflicting_header_keeps_only(tmp_path, helpers):
    gpl = (helpers.code / "debianutils" / "COPYING").read_text()
    assert detect_repo_license(make_repo(tmp_path / "a", {"COPYING": gpl, "x.py": "print(1)\n"})).spdx == "GPL-2.0-only"
    mixed = {"COPYING": gpl, "a.py": GPL2_NOTICE, "b.py": "# SPDX-License-Identifier: GPL-2.0-only\n"}
    assert detect_repo_license(make_repo(tmp_path / "b", mixed)).spdx == "GPL-2.0-only"


@pytest.mark.parametrize("files, spdx", [
    ({"LICENSE-MIT": MIT, "LICENSE-APACHE": APACHE}, "Apache-2.0 OR MIT"),  # named-for-their-licence convention
    ({"LICENSE": "Licensed under either of\n\n * Apache License, Version 2.0\n * MIT license\n\nat your option.\n"},
     "Apache-2.0 OR MIT"),
    ({"LICENSE": "SPDX-License-Identifier: MIT OR Apache-2.0\n"}, "MIT OR Apache-2.0"),
    ({"LICENSE": MIT, "COPYING": APACHE}, "Apache-2.0 AND MIT"),  # two licences, no choice offered: both apply
    ({"LICENSE": MIT, "LICENSE.txt": MIT}, "MIT"),
])
def test_dual_and_combined_licence_files(tmp_path, files, spdx):
    assert detect_repo_license(make_repo(tmp_path, files)).spdx == spdx


@pytest.mark.parametrize("text, spdx", [
    (BSD2, "BSD-2-Clause"),
    (scancode_text("bsd-new"), "BSD-3-Clause"),
    (scancode_text("bsd-original"), "BSD-4-Clause"),
    (scancode_text("isc"), "ISC"),
    (scancode_text("bsd-zero"), "0BSD"),
    (scancode_text("unlicense"), "Unlicense"),
    ("This is free and unencumbered software released into the public domain.",
     "LicenseRef-scancode-public-domain"),  # the Unlicense's first line alone is only a dedication
    (" * Licensed under the Apache License, Version 2.0 (the \"License\");", "Apache-2.0"),
    (GPL2_NOTICE, "GPL-2.0-or-later"),
    ("// under the terms of the GNU Lesser General Public License as published by the Free Software Foundation;"
     "\n// either version 2.1 of the License, or (at your option) any later version.", "LGPL-2.1-or-later"),
    ("# This program is free software: you can redistribute it and/or modify it under the terms of the GNU\n"
     "# Affero General Public License as published by the Free Software Foundation, either version 3 of the\n"
     "# License, or (at your option) any later version.", "AGPL-3.0-or-later"),
    ("/* SPDX-License-Identifier: GPL-2.0+ WITH Linux-syscall-note */", "GPL-2.0-or-later WITH Linux-syscall-note"),
    ('__license__ = "SPDX-License-Identifier: MIT"', "MIT"),
    ("# SPDX-License-Identifier: NOASSERTION\n# Under the MIT license.", None),  # SPDX for "not saying" decides
    ("# Copyright (C) 2002, 2003 Python Software Foundation.", None),  # a copyright line is no licence
    ("See the LICENSE file for details.", None),  # a pointer to a licence is none (ScanCode: unknown reference)
    ("The parser follows the grammar of the 2019 report, section 4.", None),
    # ScanCode reads a bare "the GPL" as GPL-1.0-or-later (its rule for unversioned GPL mentions).
    ("The GPL is mentioned here, and so is freedom.", "GPL-1.0-or-later"),
])
def test_what_a_text_states(text, spdx):
    problems = []
    assert stated_expression(text, "f", problems) == spdx
    assert problems == []


def test_repository_without_licence_file_takes_its_headers(tmp_path):
    repo = make_repo(tmp_path, {"a.py": "# SPDX-License-Identifier: MIT\n", "b/c.py": "# Under the MIT license.",
                                "d.c": "/*\n" + BSD2 + "*/\n", "e.py": "x = 1\n", "f.bin": b"\0\1\2"})
    found = detect_repo_license(repo)
    assert (found.spdx, found.source, found.files) == ("BSD-2-Clause AND MIT", "header", ("a.py", "b/c.py", "d.c"))


def test_binary_empty_and_unrecognised_licence_files_are_reported_not_fatal(tmp_path):
    repo = make_repo(tmp_path / "a", {"LICENSE": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "COPYING": b"",
                                      "NOTICE": "Thanks to everyone.\n", "x.py": "# SPDX-License-Identifier: ISC\n"})
    found = detect_repo_license(repo)
    assert (found.spdx, found.source) == ("ISC", "header")  # no licence file could decide; the headers do
    assert found.unresolved == ("COPYING: no licence text recognised", "LICENSE: binary (NUL byte)",
                                "NOTICE: no licence text recognised")
    alone = detect_repo_license(make_repo(tmp_path / "b", {"LICENSE": b"\0\0", "x.py": "print(1)\n"}))
    assert (alone.spdx, alone.source, alone.unresolved) == (None, "none", ("LICENSE: binary (NUL byte)",))


def test_latin1_licence_file_is_still_read(tmp_path):
    repo = make_repo(tmp_path, {"LICENSE": ("Copyright \xa9 2001 J\xfcrgen\n\n" + MIT).encode("latin-1")})
    assert detect_repo_license(repo).spdx == "MIT"


def test_bad_spdx_lines_are_reported_with_file_and_line(tmp_path):
    repo = make_repo(tmp_path, {"src/a.py": "#!/usr/bin/env python\n# SPDX-License-Identifier: MIT OR\n",
                                "src/b.py": "# SPDX-License-Identifier: Apache-2.0\n"})
    found = detect_repo_license(repo)
    assert found.spdx == "Apache-2.0"
    assert len(found.unresolved) == 1 and found.unresolved[0].startswith("src/a.py:2: bad SPDX expression 'MIT OR'")


@pytest.mark.parametrize("expression, accepted, result", [
    ("MIT", {"MIT"}, True),
    ("MIT OR GPL-3.0-only", {"MIT"}, True),
    ("MIT AND GPL-3.0-only", {"MIT"}, False),
    ("(MIT OR GPL-3.0-only) AND Apache-2.0", {"MIT", "Apache-2.0"}, True),
    ("Apache-2.0 WITH LLVM-exception", {"Apache-2.0"}, True),
    ("GPL-2.0-or-later WITH Classpath-exception-2.0", {"MIT"}, False),
    ("LicenseRef-Proprietary", {"MIT"}, False),
])
def test_satisfied(expression, accepted, result):
    assert satisfied(expression, frozenset(accepted)) is result


def test_detector_annotates_every_document_once_per_repository(corpus, helpers):
    detector = LicenseDetector(helpers.code)
    docs = helpers.run([detector], corpus)
    assert len(docs) == len(corpus)
    by_repo = {d.metadata["repo"]: d.metadata["license"]["spdx"] for d in docs}
    assert by_repo == {"docs-vendor": None, "sphinx-utils": "BSD-2-Clause", "debianutils": "GPL-2.0-or-later",
                       "python-apt": "GPL-2.0-or-later", "toml": "MIT"}
    assert all(set(d.metadata["license"]) == {"spdx", "source", "files", "osi_approved", "unresolved"} for d in docs)
    assert detector.stats["repositories/license_file"].total == 4 and detector.stats["repositories/none"].total == 1
    first, second = [d for d in docs if d.metadata["repo"] == "toml"][:2]
    first.metadata["license"]["files"].append("mutated")
    assert second.metadata["license"]["files"] == ["LICENSE"]  # documents do not share mutable metadata


def test_detector_passes_settled_documents_and_refuses_bad_ones(helpers, tmp_path):
    settled = mark_quarantined(helpers.make("", "nowhere/x.py"), "binary_or_not_utf8")
    assert helpers.run([LicenseDetector(helpers.code)], [settled]) == [settled]
    assert "license" not in settled.metadata
    with pytest.raises(FileNotFoundError, match="nowhere"):
        helpers.run([LicenseDetector(tmp_path)], [helpers.make("x", "nowhere/x.py")])
    with pytest.raises(ValueError, match="no 'repo'"):
        helpers.run([LicenseDetector(tmp_path)], [Document(text="x", id="x", metadata={})])


DEBIAN = {"Apache-2.0": "Apache-2.0", "Artistic": "Artistic-1.0-Perl", "BSD": "BSD-3-Clause", "CC0-1.0": "CC0-1.0",
          "GFDL": "GFDL-1.3-only", "GFDL-1.2": "GFDL-1.2-only", "GFDL-1.3": "GFDL-1.3-only", "GPL": "GPL-3.0-only",
          "GPL-1": "GPL-1.0-only", "GPL-2": "GPL-2.0-only", "GPL-3": "GPL-3.0-only", "LGPL": "LGPL-3.0-only",
          "LGPL-2": "LGPL-2.0-only", "LGPL-2.1": "LGPL-2.1-only", "LGPL-3": "LGPL-3.0-only", "MPL-1.1": "MPL-1.1",
          "MPL-2.0": "MPL-2.0"}
"""Debian's 17 licence files and what they are. The regular expressions before ScanCode named 11
(not Artistic, CC0-1.0, MPL-1.1 or the three GFDL files)."""


@pytest.mark.skipif(not COMMON.is_dir(), reason="no /usr/share/common-licenses (Debian's base-files)")
def test_debian_licence_texts_as_licence_files(tmp_path):
    assert sorted(p.name for p in COMMON.iterdir()) == sorted(DEBIAN)  # a new file there needs its line here
    for name, spdx in DEBIAN.items():
        repo = make_repo(tmp_path / name, {"COPYING": (COMMON / name).read_text(), "x.py": "print(1)\n"})
        assert detect_repo_license(repo).spdx == spdx, name


@pytest.mark.parametrize("name", [p.stem for p in sorted((REPO / "LICENSES").glob("*.txt"))])
def test_the_repository_licence_texts(name):
    expected = {"GPL-2.0-or-later": "GPL-2.0-only",  # the text alone cannot say "or later" (module docstring)
                "LicenseRef-Public-Domain": "LicenseRef-scancode-public-domain"}.get(name, name)
    assert stated_expression((REPO / "LICENSES" / f"{name}.txt").read_text(), name, []) == expected


def test_apache_text_without_its_title_or_appendix():
    text = APACHE[APACHE.index("TERMS AND CONDITIONS"):APACHE.index("END OF TERMS AND CONDITIONS")]
    assert not re.search(r"apache license|apache\.org", text, re.IGNORECASE)
    assert stated_expression(text, "LICENSE", []) == "Apache-2.0"


def test_missing_libmagic_is_named(tmp_path):
    # typecode takes TYPECODE_LIBMAGIC_PATH first; a path to nothing is what a machine without libmagic1 sees.
    code = "from glassworks.pipeline.code.scancode import detect; detect('MIT License')"
    env = {**os.environ, "TYPECODE_LIBMAGIC_PATH": str(tmp_path / "no-libmagic.so")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "needs the libmagic library" in done.stderr
