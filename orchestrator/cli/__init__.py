"""The ``shipyard`` command line (``main.app``): thin commands that call into the domain."""
