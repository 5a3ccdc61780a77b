"""The Teams file cards of a report's CSV (pure): the FileConsentCard that asks the caller to
accept the file, the FileInfoCard that shows it once uploaded, and the data contract of the
`fileConsent/invoke` that Teams sends when the caller accepts or declines.

Teams bots can send files only in personal chats, and only with the user's consent: the bot
offers a file (name, size, description), Teams asks the user, and on accept hands the bot an
upload URL in the user's OneDrive. No file is kept while the user decides: the card's context
carries the report command and who asked for it, and the CSV is made again on accept, after
the permissions are checked again (a person may have left the team in the meantime).

Whatever arrives in the invoke is client-controlled, however Teams signs the request:
`parse_consent` accepts exactly what `consent_card` produces and raises ValueError on
anything else, so a forged or foreign context becomes a polite refusal, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictStr, ValidationError

from bot.i18n.texts import localized
from bot.messages import ReportFile

CONSENT_CONTENT_TYPE = "application/vnd.microsoft.teams.card.file.consent"
INFO_CONTENT_TYPE = "application/vnd.microsoft.teams.card.file.info"
INVOKE_NAME = "fileConsent/invoke"
# An offer older than this is refused: the caller asks again and sees the current figures.
OFFER_TTL = timedelta(hours=24)
_ARGS_MAX = 500
_ID_MAX = 200

Attachment = dict[str, Any]

_TEXTS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "description": MappingProxyType(
            {
                "en": "Customer feedback report as a CSV file (report {args})",
                "fi": "Asiakaspalauteraportti CSV-tiedostona (report {args})",
            }
        ),
        "uploaded": MappingProxyType(
            {"en": "Here is your CSV file.", "fi": "Tässä on CSV-tiedostosi."}
        ),
        "declined": MappingProxyType(
            {
                "en": "All right, I did not save the CSV file.",
                "fi": "Selvä, en tallentanut CSV-tiedostoa.",
            }
        ),
        "upload_failed": MappingProxyType(
            {
                "en": "I could not save the CSV file to your OneDrive; please ask for the "
                "report again in a moment.",
                "fi": "En saanut tallennettua CSV-tiedostoa OneDriveesi; pyydä raporttia "
                "uudelleen hetken päästä.",
            }
        ),
        "stale": MappingProxyType(
            {
                "en": "This file offer is no longer valid; please ask for the report again.",
                "fi": "Tämä tiedostotarjous ei ole enää voimassa; pyydä raporttia uudelleen.",
            }
        ),
    }
)


def text(key: str, locale: str | None, **params: object) -> str:
    return localized(_TEXTS[key], locale).format(**params)


class CsvOffer(BaseModel):
    """The accept and decline context of the consent card: the report command's arguments,
    the requester's user id, the language the report was asked in, and when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cx: Literal["report_csv"] = "report_csv"
    args: StrictStr = Field(max_length=_ARGS_MAX)
    by: StrictStr = Field(min_length=1, max_length=_ID_MAX)
    locale: StrictStr = Field(max_length=16)
    at: AwareDatetime

    def stale(self, now: datetime) -> bool:
        return not (now - OFFER_TTL <= self.at <= now)


class UploadInfo(BaseModel):
    """Where Teams lets the bot put the file (an upload session in the user's OneDrive)."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    name: StrictStr = Field(min_length=1, max_length=_ID_MAX)
    upload_url: StrictStr = Field(alias="uploadUrl", min_length=1, max_length=4000)
    content_url: StrictStr = Field(alias="contentUrl", min_length=1, max_length=4000)
    unique_id: StrictStr = Field(alias="uniqueId", min_length=1, max_length=_ID_MAX)
    file_type: StrictStr = Field(alias="fileType", max_length=16)


class Consent(BaseModel):
    """The value of a `fileConsent/invoke`; an accept comes with its upload info."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    action: Literal["accept", "decline"]
    context: CsvOffer
    upload_info: UploadInfo | None = Field(default=None, alias="uploadInfo")


def parse_consent(value: Any) -> Consent:
    """The invoke's value as `Consent`; ValueError on anything `consent_card` did not make."""
    try:
        return Consent.model_validate(value)
    except ValidationError as exc:
        raise ValueError(f"not a report file consent: {exc.error_count()} problem(s)") from None


def file_name(day: str) -> str:
    return f"cx-report-{day}.csv"


def consent_card(offer: CsvOffer, *, name: str, size: int) -> Attachment:
    """The FileConsentCard attachment: Teams shows name, size and description and asks the
    user to allow or decline; both answers carry `offer` back."""
    context = offer.model_dump(mode="json")
    return {
        "contentType": CONSENT_CONTENT_TYPE,
        "name": name,
        "content": {
            "description": text("description", offer.locale, args=offer.args).strip(),
            "sizeInBytes": size,
            "acceptContext": context,
            "declineContext": context,
        },
    }


def offer_of(file: ReportFile) -> CsvOffer:
    """The consent card's context for a queued file offer; ValueError when the command is
    too long to be carried in it."""
    return CsvOffer(args=file.args, by=file.asked_by, locale=file.locale, at=file.asked_at)


def offer_card(file: ReportFile) -> Attachment:
    return consent_card(offer_of(file), name=file.name, size=file.size)


def info_card(upload: UploadInfo) -> Attachment:
    """The FileInfoCard attachment: the uploaded file, opened from the chat."""
    return {
        "contentType": INFO_CONTENT_TYPE,
        "contentUrl": upload.content_url,
        "name": upload.name,
        "content": {"uniqueId": upload.unique_id, "fileType": upload.file_type},
    }
