"""The graph query service: the worker's replica of `lineage-graph`, its HTTP API and formats."""
