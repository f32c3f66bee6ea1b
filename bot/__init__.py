"""privatelink-bot: private database connections over AWS PrivateLink, driven from Slack."""
