"""The Stack-style code stages: licences, languages, code filters, redaction, opt-outs, dedup."""
