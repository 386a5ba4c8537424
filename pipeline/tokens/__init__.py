"""Tokens: the SentencePiece tokenizer, the three phase mixtures and packed token shards."""
