"""The Model Openness Framework, as glassworks reads it: components, licence rules, schema,
and the classifier (``classify_file``, ``evaluate``). Nothing here imports torch."""

from glassworks.release.mof.classify import Classification, ComponentResult, classify_file, evaluate
from glassworks.release.mof.description import Description, from_data, parse_description, read_description

__all__ = ["Classification", "ComponentResult", "Description", "classify_file", "evaluate", "from_data",
           "parse_description", "read_description"]
