"""The OpenLineage bridge's wiring: the intake agent, the HTTP intake, export and emit."""
