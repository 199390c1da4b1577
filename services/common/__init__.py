"""Runtime code shared by every service: settings, PostgreSQL, Kafka, the transactional consumer,
health and metrics. It must never import a service: services depend on it, not the reverse."""
