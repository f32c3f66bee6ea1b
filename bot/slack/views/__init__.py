"""Pure builders of Slack views and messages: state in, Block Kit JSON out."""
