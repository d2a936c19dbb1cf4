"""Jurisdiction disputes beyond the workflow: the coordinator inbox (read model) and the typed
client the console calls to send coordinator decisions to Temporal."""
