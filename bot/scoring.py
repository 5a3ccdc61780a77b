"""Scoring (stub: to be completed)."""

from __future__ import annotations

from enum import StrEnum


class Metric(StrEnum):
    CES = "ces"
    CSAT = "csat"
    NPS = "nps"
