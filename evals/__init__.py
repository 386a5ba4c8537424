"""Evaluation: the lm-eval adapter, offline task suites, checkpoint sweeps and fits.

Not built yet in this version. Importing it will register the `glassworks` lm-eval model.
"""
