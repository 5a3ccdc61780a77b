"""Connectors: the webhooks of the helpdesks and CRMs a team already uses, each turned into
an interaction (one small module per source, mapping its payload to what `bot.surveys.intake`
logs), and cxbot's own events sent out as signed webhooks (`outbound`)."""
