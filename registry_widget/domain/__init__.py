"""The registry's objects and rules: Client, Registry, Collection, Link, ArtifactVersion."""
