"""The release bundle: assembly (``build_bundle``), checks (``check_bundle``) and publishing."""

from glassworks.release.bundle.build import BundleResult, build_bundle
from glassworks.release.bundle.config import BundleConfig

__all__ = ["BundleConfig", "BundleResult", "build_bundle"]
