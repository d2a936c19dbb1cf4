"""A throwaway sixth process, added as a plug-in (``LAWLINK_PROCESS_PLUGINS=tests.sixth_process``):
it proves a process needs only its definition and its workflow's handlers."""
