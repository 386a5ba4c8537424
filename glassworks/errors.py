"""Errors a user can act on. The CLI prints them as one line and exits 1, no traceback."""


class GlassworksError(Exception):
    """A failure the user can fix: bad input, a missing file, a broken record."""


class ConfigError(GlassworksError):
    """A config file that does not match its dataclass; the message names file, line and key."""
