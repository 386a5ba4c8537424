"""Release: the MOF schema and classifier, licence checks, bundle assembly and cards.

Not built yet in this version.
"""
