"""Use cases: load, apply the domain, save with events and outbox rows in one transaction."""
