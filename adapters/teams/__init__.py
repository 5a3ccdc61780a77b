"""Microsoft Teams adapter: Adaptive Card renderers (plain dicts) and, later, the Bot Framework
request handling. Only this folder may import botbuilder."""
