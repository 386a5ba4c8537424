"""Heuristic web-text filters: Gopher, C4, FineWeb and the RefinedWeb line modifiers of DCLM."""
