"""The pure domain: statuses, transitions, rules and validation, with no I/O."""
