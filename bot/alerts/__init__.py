"""Detractor alerts: the workflow (open, acknowledge, assign, resolve), the card, its
thread and the SLA escalation."""
