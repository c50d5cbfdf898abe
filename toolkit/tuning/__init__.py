"""Bonus tuning: the customer choice model, per-return economics, sweeps and calibration."""
