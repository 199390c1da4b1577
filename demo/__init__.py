"""The demo: a realistic scenario loaded through plan_service's public HTTP API."""
