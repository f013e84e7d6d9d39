"""analyzers package."""
