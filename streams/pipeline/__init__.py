"""The pipeline: the Faust app built from topology.yaml, its agents, batches, sink and stores."""
