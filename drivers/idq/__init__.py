"""ID Quantique devices."""
