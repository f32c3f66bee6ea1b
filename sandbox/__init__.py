"""Local stand-ins for the edges: AWS (moto and an extension) and the Slack Web API."""
