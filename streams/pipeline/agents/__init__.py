"""The agents of the topology: one module per agent, each a handler plus wiring."""
