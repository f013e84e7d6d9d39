"""Type stubs for the native matcher extension."""

def version() -> str:
    """Return the version of the native matcher crate."""
