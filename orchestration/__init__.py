"""Dagster orchestration of the warehouse and the ``omni`` command line."""
