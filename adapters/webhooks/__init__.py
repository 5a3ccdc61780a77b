"""Outbound webhooks: the delivery queue's `WebhookEvent`s POSTed, signed, to the endpoints
of `webhooks:` in cxbot.yaml (README, "Connecting your helpdesk")."""
