"""A local stand-in for the Slack Web API (import it from ``sandbox.slack_api``)."""
