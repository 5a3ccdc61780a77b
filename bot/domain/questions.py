"""The question catalogue: every question version we ever asked, and the driver taxonomy.

A response stores the key of the version it answered (SPEC §1), so a version is a permanent
record: its scale, end labels and wording never change once shipped. New wording or a new
scale is a new version (``ces-v2``) and a new entry in `CURRENT`; old keys stay resolvable.
That is also why each version spells out its own scale and detractor threshold instead of
reading them from `bot.domain.scoring`: a test checks that the current versions agree with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from bot.domain.scoring import Metric, is_detractor
from bot.i18n.texts import localized

Localized = Mapping[str, str]


class Polarity(StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"


def _loc(en: str, fi: str) -> Localized:
    return MappingProxyType({"en": en, "fi": fi})


@dataclass(frozen=True, slots=True)
class QuestionVersion:
    """One immutable wording and scale of a metric's question.

    `text` may hold `{interaction}` (CSAT) and `{vendor}` (NPS); `question_text` fills them.
    `low_label`/`high_label` are the visible labels of the scale's two end buttons.
    """

    key: str
    metric: Metric
    scale_min: int
    scale_max: int
    polarity: Polarity
    detractor_max: int
    text: Localized
    low_label: Localized
    high_label: Localized

    @property
    def scores(self) -> range:
        """The scores the respondent can choose, lowest first (one button each)."""
        return range(self.scale_min, self.scale_max + 1)


CES_V1 = QuestionVersion(
    key="ces-v1",
    metric=Metric.CES,
    scale_min=1,
    scale_max=7,
    polarity=Polarity.HIGHER_IS_BETTER,
    detractor_max=3,
    text=_loc(
        "How easy was it to get what you needed from us?",
        "Kuinka helppoa asiointi kanssamme oli?",
    ),
    low_label=_loc("Very difficult", "Erittäin vaikeaa"),
    high_label=_loc("Very easy", "Erittäin helppoa"),
)

CSAT_V1 = QuestionVersion(
    key="csat-v1",
    metric=Metric.CSAT,
    scale_min=1,
    scale_max=5,
    polarity=Polarity.HIGHER_IS_BETTER,
    detractor_max=2,
    text=_loc(
        "How satisfied are you with {interaction}?",
        "Kuinka tyytyväinen olet {interaction}?",
    ),
    low_label=_loc("Very dissatisfied", "Erittäin tyytymätön"),
    high_label=_loc("Very satisfied", "Erittäin tyytyväinen"),
)

NPS_V1 = QuestionVersion(
    key="nps-v1",
    metric=Metric.NPS,
    scale_min=0,
    scale_max=10,
    polarity=Polarity.HIGHER_IS_BETTER,
    detractor_max=6,
    text=_loc(
        "How likely are you to recommend {vendor} to a colleague?",
        "Kuinka todennäköisesti suosittelisit {vendor} kollegallesi?",
    ),
    low_label=_loc("Not at all likely", "En lainkaan todennäköisesti"),
    high_label=_loc("Extremely likely", "Erittäin todennäköisesti"),
)

VERSIONS: Mapping[str, QuestionVersion] = MappingProxyType(
    {version.key: version for version in (CES_V1, CSAT_V1, NPS_V1)}
)
CURRENT: Mapping[Metric, QuestionVersion] = MappingProxyType(
    {Metric.CES: CES_V1, Metric.CSAT: CSAT_V1, Metric.NPS: NPS_V1}
)


def by_key(key: str) -> QuestionVersion:
    """The version a stored response answered; an unknown key means a missing catalogue entry."""
    try:
        return VERSIONS[key]
    except KeyError:
        known = ", ".join(sorted(VERSIONS))
        raise KeyError(f"unknown question version {key!r} (known: {known})") from None


# What CSAT asks about, per interaction kind. Finnish needs the illative case ("tyytyväinen
# tapaamiseen"), so each phrase is written whole rather than inflected by code.
_INTERACTIONS: Mapping[str, Localized] = MappingProxyType(
    {
        "meeting": _loc("the meeting", "tapaamiseen"),
        "delivery": _loc("the delivery", "toimitukseen"),
        "training": _loc("the training", "koulutukseen"),
        "onboarding": _loc("the onboarding", "käyttöönottoon"),
        "support_ticket": _loc("your support ticket", "tukipyyntösi käsittelyyn"),
        "invoice": _loc("the invoice", "laskuun"),
        "workshop": _loc("the workshop", "työpajaan"),
        "call": _loc("the call", "puheluun"),
        "project": _loc("the project", "projektiin"),
    }
)
_GENERIC_INTERACTION = _loc("our service", "palveluumme")


def interaction_phrase(interaction_kind: str | None, locale: str | None) -> str:
    """The `{interaction}` phrase for a kind; unknown kinds get a generic "our service"."""
    phrases = _INTERACTIONS.get(interaction_kind or "", _GENERIC_INTERACTION)
    return localized(phrases, locale)


def question_text(
    version: QuestionVersion,
    *,
    locale: str | None,
    interaction_kind: str | None,
    vendor: str,
) -> str:
    """The question as the respondent reads it, placeholders filled; unknown locale -> English.

    The vendor name is inserted as given: Finnish would want it inflected (partitive), which
    code cannot do reliably for arbitrary company names.
    """
    template = localized(version.text, locale)
    return template.format(interaction=interaction_phrase(interaction_kind, locale), vendor=vendor)


def end_labels(version: QuestionVersion, locale: str | None) -> tuple[str, str]:
    """(low, high) labels for the first and last score button."""
    return localized(version.low_label, locale), localized(version.high_label, locale)


# Reason chips offered after a score (SPEC §1), in display order.
DRIVERS: Mapping[str, Localized] = MappingProxyType(
    {
        "speed": _loc("Speed", "Nopeus"),
        "quality": _loc("Quality", "Laatu"),
        "expertise": _loc("Expertise", "Asiantuntemus"),
        "ease": _loc("Ease", "Helppous"),
        "reliability": _loc("Reliability", "Luotettavuus"),
        "flexibility": _loc("Flexibility", "Joustavuus"),
        "communication": _loc("Communication and listening", "Viestintä ja kuuntelu"),
        "reporting": _loc("Reporting", "Raportointi"),
        "price": _loc("Price", "Hinta"),
    }
)


def driver_label(key: str, locale: str | None) -> str:
    """The chip label of a driver; an unknown key raises KeyError naming it."""
    try:
        labels = DRIVERS[key]
    except KeyError:
        raise KeyError(f"unknown driver {key!r}") from None
    return localized(labels, locale)


_WHY_LOW = _loc("What should we have done differently?", "Mitä meidän olisi pitänyt tehdä toisin?")
_WHY_HIGH = _loc("What did we do well?", "Mitä teimme hyvin?")


def why_prompt(metric: Metric, score: int, locale: str | None) -> str:
    """The follow-up question: detractors are asked what to change, everyone else what worked."""
    prompts = _WHY_LOW if is_detractor(metric, score) else _WHY_HIGH
    return localized(prompts, locale)
