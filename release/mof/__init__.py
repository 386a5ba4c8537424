"""The Model Openness Framework, as the Model Openness Tool (MOT) applies it: components,
the MOT's licence lists (vendored), schema, and the classifier (``classify`` for a path or
parsed data; ``classify_file``, ``evaluate``). Nothing here imports torch."""

from glassworks.release.mof.classify import Classification, ComponentResult, classify, classify_file, evaluate
from glassworks.release.mof.description import Description, from_data, parse_description, read_description

__all__ = ["Classification", "ComponentResult", "Description", "classify", "classify_file", "evaluate", "from_data",
           "parse_description", "read_description"]
