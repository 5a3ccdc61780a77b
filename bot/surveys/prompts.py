"""Builds the neutral messages of a survey from its rows (no I/O)."""

from __future__ import annotations

from bot.domain import questions
from bot.domain.scoring import Metric
from bot.messages import ScaleButton, SurveyPrompt, Target, ThankYou
from storage.models import Contact, Interaction, Survey


def target_for(
    *, contact: Contact, interaction: Interaction, workspace: str | None = None
) -> Target | None:
    """The customer's thread when the interaction happened in one on the contact's platform
    (mentioning the contact), else a DM; None when the contact cannot be reached."""
    if not contact.platform or not contact.platform_user_id:
        return None
    in_thread = (
        interaction.platform == contact.platform
        and interaction.channel_id is not None
        and interaction.thread_id is not None
    )
    return Target(
        platform=contact.platform,
        channel_id=interaction.channel_id if in_thread else None,
        thread_id=interaction.thread_id if in_thread else None,
        user_id=contact.platform_user_id,
        workspace=workspace,
    )


def survey_prompt(
    *,
    survey: Survey,
    interaction: Interaction,
    target: Target,
    locale: str,
    vendor: str,
    reminder: bool = False,
    contact_name: str | None = None,
) -> SurveyPrompt:
    """The question; in a shared thread it mentions the contact (by name, when known), in a
    DM it need not."""
    assert survey.id is not None
    mentioned = target.user_id if target.channel_id else None
    version = questions.by_key(survey.question_version)
    low_label, high_label = questions.end_labels(version, locale)
    return SurveyPrompt(
        survey_id=survey.id,
        metric=survey.metric,
        locale=locale,
        question=questions.question_text(
            version, locale=locale, interaction_kind=interaction.kind, vendor=vendor
        ),
        buttons=tuple(
            ScaleButton(score=score) for score in range(version.scale_min, version.scale_max + 1)
        ),
        low_label=low_label,
        high_label=high_label,
        mention_user_id=mentioned,
        reminder=reminder,
        names={mentioned: contact_name} if mentioned and contact_name else {},
    )


def thank_you(*, survey: Survey, score: int, locale: str, reasons_saved: bool = False) -> ThankYou:
    assert survey.id is not None
    return ThankYou(
        survey_id=survey.id,
        metric=survey.metric,
        locale=locale,
        score=score,
        why_prompt=questions.why_prompt(Metric(survey.metric), score, locale),
        reasons_saved=reasons_saved,
    )
