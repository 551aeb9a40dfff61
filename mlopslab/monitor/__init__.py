"""Monitoring adapters: GPU sources (NVML, replay), and later cost, drift, alerts."""
