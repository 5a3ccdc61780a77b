"""A chat adapter that prints rendered messages to a stream: the demo's platform."""

from adapters.console.adapter import ConsoleAdapter, render

__all__ = ["ConsoleAdapter", "render"]
