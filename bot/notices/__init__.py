"""Outbox notices: what the bot tells a channel, as kinds, thread keys and typed payloads.

Services write an outbox row through `outbox.queue` in the same transaction as the change it
tells; the worker reads it back with `registry.read_notice`, and the Slack side renders each kind
(`bot.slack.renderers`). Nothing here imports Slack. A new kind is a `Notice` subclass with its
`KIND`, listed in `registry.KINDS`, and a renderer registered in `bot.slack.renderers`.
"""
