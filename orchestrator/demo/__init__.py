"""``shipyard demo``: the sample backlog (``assets/``) through queue, sandbox, agent, gates and PR."""
