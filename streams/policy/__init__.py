"""The policy service: the monitor task, its inputs from Kafka, and the violations subscriber."""
