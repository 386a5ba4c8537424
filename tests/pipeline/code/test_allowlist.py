"""The permissive-licence allowlist: decisions on expressions, and on the embedded repositories."""

import pytest

from glassworks.pipeline.code.allowlist import AllowlistConfig, LicenseAllowlistFilter
from glassworks.pipeline.code.licenses import LicenseDetector
from glassworks.pipeline.documents import DROP, MarkingFilter


def licensed(helpers, spdx):
    return helpers.make("x = 1\n", license={"spdx": spdx, "source": "header", "files": [], "osi_approved": None})


@pytest.mark.parametrize("spdx, verdict", [
    ("MIT", True),
    ("PSF-2.0", True),
    ("Apache-2.0 WITH LLVM-exception", True),
    ("MIT OR GPL-3.0-only", True),
    ("BSD-3-Clause AND MIT", True),
    (None, (False, "no_license")),
    ("GPL-2.0-or-later", (False, "not_allowlisted:GPL-2.0-or-later")),
    ("MIT AND GPL-3.0-only", (False, "not_allowlisted:MIT AND GPL-3.0-only")),
    ("LicenseRef-Proprietary", (False, "not_allowlisted:LicenseRef-Proprietary")),
])
def test_default_allowlist_decisions(helpers, spdx, verdict):
    assert LicenseAllowlistFilter().filter(licensed(helpers, spdx)) == verdict


def test_configured_allowlist(helpers):
    copyleft_ok = LicenseAllowlistFilter(AllowlistConfig(frozenset({"GPL-2.0-or-later"})))
    assert copyleft_ok.filter(licensed(helpers, "GPL-2.0-or-later")) is True
    assert copyleft_ok.filter(licensed(helpers, "MIT")) == (False, "not_allowlisted:MIT")


def test_bad_configuration_and_missing_detection(helpers):
    with pytest.raises(ValueError, match="Expat"):
        LicenseAllowlistFilter(AllowlistConfig(frozenset({"MIT", "Expat"})))
    with pytest.raises(KeyError, match="run LicenseDetector"):
        LicenseAllowlistFilter().filter(helpers.make("x"))
    with pytest.raises(ValueError, match="repo/file.py: licence 'MIT OR' is not an SPDX expression"):
        LicenseAllowlistFilter().filter(licensed(helpers, "MIT OR"))


def test_embedded_corpus_keeps_the_permissive_repositories(corpus, helpers):
    docs = helpers.run([LicenseDetector(helpers.code), MarkingFilter(LicenseAllowlistFilter(), "license")], corpus)
    kept = {d.metadata["repo"] for d in docs if DROP not in d.metadata and "quarantine_reason" not in d.metadata}
    assert kept == {"sphinx-utils", "toml"}
    reasons = {d.metadata["repo"]: d.metadata[DROP] for d in docs if DROP in d.metadata}
    assert reasons == {"docs-vendor": "license:no_license", "debianutils": "license:not_allowlisted:GPL-2.0-or-later",
                       "python-apt": "license:not_allowlisted:GPL-2.0-or-later"}
