"""Sensors that start the pipeline when something happens, rather than at a fixed time."""

import dagster as dg

from orchestration.defs.sensors.landing_files import new_landing_files_sensor

defs = dg.Definitions(sensors=[new_landing_files_sensor])
