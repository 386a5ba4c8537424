"""Release: the MOF schema and classifier (``glassworks.release.mof``), licence checks,
bundle assembly, model and data cards, Croissant metadata and publishing."""
