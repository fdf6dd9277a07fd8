"""Code shared by the Dagster definitions and the ``omni`` command line."""
