"""The ways in: the HTTP API, the CLI, and `chat`, the one façade the chat adapters call."""
