"""Monitoring: protocols and their check timing, vitals, observations and discharge readiness. Imports the ground and storage."""
