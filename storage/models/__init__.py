"""The tables of cxbot (SPEC §2), as SQLModel classes.

Import from here: `from storage.models import Survey`. The metadata of every table is
`SQLModel.metadata` once this package is imported, which Alembic's env uses.
"""

from storage.models.feedback import (
    Account,
    Contact,
    Interaction,
    InteractionContact,
    QuestionVersionRow,
    Response,
    Survey,
    SurveyStatus,
)
from storage.models.operations import (
    Alert,
    AlertEvent,
    AlertStatus,
    ChannelPacing,
    ChatConversation,
    Delivery,
    DeliveryStatus,
    DigestRun,
    ProcessedEvent,
)

__all__ = [
    "Account",
    "Alert",
    "AlertEvent",
    "AlertStatus",
    "ChannelPacing",
    "ChatConversation",
    "Contact",
    "Delivery",
    "DeliveryStatus",
    "DigestRun",
    "Interaction",
    "InteractionContact",
    "ProcessedEvent",
    "QuestionVersionRow",
    "Response",
    "Survey",
    "SurveyStatus",
]
