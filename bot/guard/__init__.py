"""The guard layer: input decisions, output checks and safety warnings."""
