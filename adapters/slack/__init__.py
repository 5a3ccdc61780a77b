"""Slack adapter: Block Kit renderers and (later) the request handlers."""
