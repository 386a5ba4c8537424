"""Corpus pipeline: raw sources to filtered, deduplicated, weighted documents and token shards.

Built so far: the ``sources`` stage (snapshot and check the raw inputs against their
listing). Readers, extraction, filters, dedup, tokenizer and packing come next.
"""
