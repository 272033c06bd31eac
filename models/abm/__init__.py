"""Mesa engine: Provider, User and Speculator agents in ``DePINModel`` (see ``models.abm.model``)."""
