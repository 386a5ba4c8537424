"""Shared fixtures of the release tests: the Model Openness Tool's reference files."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MOF_REFERENCE = REPO.parent / "shared" / "mof-reference"


@pytest.fixture(scope="session")
def mof_reference() -> Path:
    """``../shared/mof-reference`` next to the checkout (the MOT's schema, licence lists,
    sample models and conformance data); the tests that need it skip when it is absent."""
    if not (MOF_REFERENCE / "Test_Data" / "expected_results.json").is_file():
        pytest.skip(f"{MOF_REFERENCE} is absent: the Model Openness Tool reference files are not next to this checkout")
    return MOF_REFERENCE
