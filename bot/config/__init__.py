"""The kernel's configuration: environment settings, the `cxbot.yaml` schema and its value types."""
