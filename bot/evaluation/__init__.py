"""The evaluation suite: scored, deterministic, offline."""
