"""S-Fifteen Instruments devices."""
