"""Onboarding a repository: ``shipyard init`` proposes ``.shipyard.yml`` from what the
repository holds, ``shipyard doctor`` proves it in a real sandbox and warms the baseline."""
