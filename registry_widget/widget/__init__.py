"""RegistryWidget: the notebook app, its request protocol, handlers and views."""
