"""Model-based quality filtering (DCLM): a fastText classifier, its training and its filter step."""
