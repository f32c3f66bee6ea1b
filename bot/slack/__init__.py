"""The Slack side: the Bolt app, its listeners, and pure view builders."""
