"""The graph: a builder that records, a validator, a frozen plan and a runner."""
