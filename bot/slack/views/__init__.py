"""Pure builders of Slack views and messages: state in, Block Kit JSON out."""

# Some builders define outbox notices (`bot.slack.notices.Notice` subclasses) that the notices
# module lists in `KINDS`: loading it first makes either import order work.
from bot.slack import notices as notices
