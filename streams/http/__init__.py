"""The worker's HTTP door: who may call its endpoints, on which address."""
