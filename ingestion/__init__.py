"""Extraction side of the warehouse: the sandbox retailer and one dlt source per system."""
