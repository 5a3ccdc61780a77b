"""The question catalogue, the driver taxonomy and the shared user-facing texts."""

from __future__ import annotations

import string

import pytest

from bot.domain.questions import (
    CURRENT,
    DRIVERS,
    Polarity,
    by_key,
    driver_label,
    end_labels,
    interaction_phrase,
    question_text,
    why_prompt,
)
from bot.domain.scoring import FigureKind, Metric, detractor_max, score_range
from bot.i18n import report_texts, texts
from bot.messages import Span, TextMessage, emphasized


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def test_every_metric_has_a_current_version_that_agrees_with_scoring() -> None:
    assert set(CURRENT) == set(Metric)
    for metric, version in CURRENT.items():
        assert version.metric is metric
        assert (version.scale_min, version.scale_max) == score_range(metric)
        assert version.detractor_max == detractor_max(metric)
        assert version.polarity is Polarity.HIGHER_IS_BETTER
        assert by_key(version.key) is version


def test_version_keys() -> None:
    assert [CURRENT[m].key for m in Metric] == ["ces-v1", "csat-v1", "nps-v1"]
    assert list(by_key("nps-v1").scores) == list(range(11))


def test_unknown_version_key_names_the_key() -> None:
    with pytest.raises(KeyError, match="ces-v9"):
        by_key("ces-v9")


def test_ces_question_in_both_languages() -> None:
    version = CURRENT[Metric.CES]
    ask = {"interaction_kind": "support_ticket", "vendor": "Acme"}
    assert question_text(version, locale="en", **ask) == (
        "How easy was it to get what you needed from us?"
    )
    assert question_text(version, locale="fi", **ask) == "Kuinka helppoa asiointi kanssamme oli?"


@pytest.mark.parametrize(
    ("kind", "en", "fi"),
    [
        ("meeting", "the meeting", "tapaamiseen"),
        ("delivery", "the delivery", "toimitukseen"),
        ("training", "the training", "koulutukseen"),
        ("onboarding", "the onboarding", "käyttöönottoon"),
        ("support_ticket", "your support ticket", "tukipyyntösi käsittelyyn"),
        ("invoice", "the invoice", "laskuun"),
        ("something_new", "our service", "palveluumme"),
        (None, "our service", "palveluumme"),
    ],
)
def test_csat_question_names_the_interaction(kind: str | None, en: str, fi: str) -> None:
    version = CURRENT[Metric.CSAT]
    assert question_text(version, locale="en", interaction_kind=kind, vendor="Acme") == (
        f"How satisfied are you with {en}?"
    )
    assert question_text(version, locale="fi", interaction_kind=kind, vendor="Acme") == (
        f"Kuinka tyytyväinen olet {fi}?"
    )


def test_nps_question_names_the_vendor() -> None:
    version = CURRENT[Metric.NPS]
    assert question_text(version, locale="en", interaction_kind=None, vendor="Acme") == (
        "How likely are you to recommend Acme to a colleague?"
    )
    assert question_text(version, locale="fi", interaction_kind=None, vendor="Acme") == (
        "Kuinka todennäköisesti suosittelisit Acme kollegallesi?"
    )


def test_vendor_with_braces_is_inserted_literally() -> None:
    text = question_text(CURRENT[Metric.NPS], locale="en", interaction_kind=None, vendor="{x}")
    assert "recommend {x} to" in text


@pytest.mark.parametrize("locale", ["sv", "", None, "de-DE"])
def test_unknown_locale_falls_back_to_english(locale: str | None) -> None:
    version = CURRENT[Metric.CSAT]
    assert question_text(version, locale=locale, interaction_kind="meeting", vendor="A") == (
        "How satisfied are you with the meeting?"
    )


def test_region_qualified_finnish_is_finnish() -> None:
    assert interaction_phrase("meeting", "fi-FI") == "tapaamiseen"
    assert interaction_phrase("meeting", "fi_FI") == "tapaamiseen"


@pytest.mark.parametrize(
    ("metric", "en", "fi"),
    [
        (Metric.CES, ("Very difficult", "Very easy"), ("Erittäin vaikeaa", "Erittäin helppoa")),
        (
            Metric.CSAT,
            ("Very dissatisfied", "Very satisfied"),
            ("Erittäin tyytymätön", "Erittäin tyytyväinen"),
        ),
        (
            Metric.NPS,
            ("Not at all likely", "Extremely likely"),
            ("En lainkaan todennäköisesti", "Erittäin todennäköisesti"),
        ),
    ],
)
def test_end_labels(metric: Metric, en: tuple[str, str], fi: tuple[str, str]) -> None:
    assert end_labels(CURRENT[metric], "en") == en
    assert end_labels(CURRENT[metric], "fi") == fi


def test_versions_are_immutable() -> None:
    version = CURRENT[Metric.CES]
    with pytest.raises(AttributeError):
        version.scale_max = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        version.text["en"] = "changed"  # type: ignore[index]


def test_drivers_in_order_with_both_languages() -> None:
    assert list(DRIVERS) == [
        "speed",
        "quality",
        "expertise",
        "ease",
        "reliability",
        "flexibility",
        "communication",
        "reporting",
        "price",
    ]
    for key, labels in DRIVERS.items():
        assert set(labels) == set(texts.LOCALES), key
        assert all(label.strip() for label in labels.values()), key
    assert driver_label("speed", "fi") == "Nopeus"
    assert driver_label("communication", "en") == "Communication and listening"
    assert driver_label("communication", "fi") == "Viestintä ja kuuntelu"


def test_unknown_driver_raises() -> None:
    with pytest.raises(KeyError, match="vibes"):
        driver_label("vibes", "en")


@pytest.mark.parametrize(
    ("metric", "low", "high"), [(Metric.CES, 3, 4), (Metric.CSAT, 2, 3), (Metric.NPS, 6, 7)]
)
def test_why_prompt_follows_the_detractor_threshold(metric: Metric, low: int, high: int) -> None:
    assert why_prompt(metric, low, "en") == "What should we have done differently?"
    assert why_prompt(metric, low, "fi") == "Mitä meidän olisi pitänyt tehdä toisin?"
    assert why_prompt(metric, high, "en") == "What did we do well?"
    assert why_prompt(metric, high, "fi") == "Mitä teimme hyvin?"


# --- bot.i18n.texts -------------------------------------------------------------------------------

REQUIRED_TEXT_KEYS = {
    "thank_you",
    "tell_us_why",
    "survey_closed",
    "reminder",
    "not_your_survey",
    "survey_expired_note",
    "too_few",
    "changed_answer",
    "reasons_saved",
    "anonymous_notice",
    "alert_title",
    "report_title",
    "digest_title",
    "submit",
    "comment_label",
    "reasons_label",
}


def test_texts_have_every_required_key() -> None:
    assert set(texts.TEXTS) >= REQUIRED_TEXT_KEYS


CATALOGUES = {"texts": texts.TEXTS, "report_texts": report_texts.TEXTS}
ENTRIES = [(name, key) for name, catalogue in CATALOGUES.items() for key in sorted(catalogue)]


@pytest.mark.parametrize(("catalogue", "key"), ENTRIES)
def test_every_text_has_both_languages_and_the_same_placeholders(catalogue: str, key: str) -> None:
    variants = CATALOGUES[catalogue][key]
    assert set(variants) == set(texts.LOCALES)
    assert all(text.strip() for text in variants.values())
    assert _placeholders(variants["en"]) == _placeholders(variants["fi"])


@pytest.mark.parametrize(("catalogue", "key"), ENTRIES)
@pytest.mark.parametrize("locale", texts.LOCALES)
def test_every_text_reads_as_plain_text_and_spans_alike(
    catalogue: str, key: str, locale: str
) -> None:
    """Marks close (reading a text fails otherwise), `t` drops them, and the spans read as
    the plain text with each value filled in as a typed span of its own."""
    variants = CATALOGUES[catalogue][key]
    params = {name: f"<{name}>" for name in _placeholders(variants["en"])}
    spans = texts.render_styled(CATALOGUES[catalogue], key, locale, params)
    plain = texts.render(CATALOGUES[catalogue], key, locale, params)
    assert "".join(span.text for span in spans) == plain
    assert "*" not in plain and "`" not in plain
    assert sorted(s.text for s in spans if s.typed) == sorted(
        f"<{name}>" for _, name, _, _ in string.Formatter().parse(variants[locale]) if name
    )


def test_markup_becomes_styled_spans_and_values_are_never_read_as_markup() -> None:
    spans = texts.styled("unknown_command", "fi", verb="*x* `y`")
    assert spans == (
        Span(text="En tunne komentoa "),
        Span(text="*x* `y`", style="code", typed=True),
        Span(text="."),
    )
    assert texts.t("unknown_command", "fi", verb="*x*") == "En tunne komentoa *x*."
    usage = texts.styled("log_usage", "en", cmd="@cxbot ")
    assert usage[:3] == (
        Span(text="Usage: "),
        Span(text="@cxbot ", style="code", typed=True),
        Span(text="log <kind> @contact [note]", style="code"),
    )


def test_an_unclosed_mark_is_a_mistake_in_the_catalogue() -> None:
    broken = texts.catalogue({"x": {"en": "a *b", "fi": "a *b"}})
    with pytest.raises(ValueError, match="strong mark is not closed"):
        texts.render_styled(broken, "x", "en", {})


def test_emphasis_is_put_round_each_run_with_its_whitespace_outside() -> None:
    spans = (
        Span(text="Use "),
        Span(text="/cx ", style="code", typed=True),
        Span(text="help ", style="code"),
        Span(text="now, "),
        Span(text="a`b", style="code", typed=True),
    )
    marked = emphasized(spans, escape=lambda span: span.text, marks={"strong": "*", "code": "`"})
    assert marked == "Use `/cx help` now, a`b"  # a run holding its own mark stays unmarked


def test_a_styled_message_must_read_as_its_text() -> None:
    message = TextMessage.of((Span(text="a "), Span(text="b", style="strong")))
    assert message.text == "a b"
    with pytest.raises(ValueError, match="read exactly as the text"):
        TextMessage(text="a c", styled=message.styled)


def test_text_lookup() -> None:
    assert texts.t("thank_you", "fi") == "Kiitos vastauksestasi!"
    assert texts.t("submit", "en") == "Send"
    assert texts.t("submit", "fi-FI") == "Lähetä"
    assert texts.t("not_your_survey", "fi", name="Maija") == (
        "Tämä kysymys on tarkoitettu henkilölle Maija."
    )
    assert texts.t("survey_closed", "sv") == "This survey has closed."


def test_unknown_text_key_raises() -> None:
    with pytest.raises(KeyError, match="no_such_text"):
        texts.t("no_such_text", "en")


def test_figure_labels_exist_for_every_figure_kind() -> None:
    for kind in FigureKind:
        assert texts.t(f"figure_{kind}", "fi")
