"""plan_service: Commands from clinical apps become immutable, attributable events; the current plan and its history come back."""
