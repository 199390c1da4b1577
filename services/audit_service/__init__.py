"""audit_service: the governance audit - who was involved in each safety plan and version, and
whether the log is intact."""
