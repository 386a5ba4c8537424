"""glassworks: build, train, evaluate and release a language model that is open end to end.

The core package stays thin and light to import: the CLI, typed config loading, canonical
hashing and errors. The areas (pipeline, model, provenance, evals, release) live in their own
top-level folders and are installed as ``glassworks.<area>``.
"""

__version__ = "0.1.0"
