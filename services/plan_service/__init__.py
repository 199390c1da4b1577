"""plan_service: commands from clinical apps become immutable, attributable events; the current
plan and its history come back."""
