"""User-facing strings shared by every chat platform renderer, in English and Finnish.

One catalogue, so a Slack message and a Teams card say the same thing in the same words, and a
translation is reviewed in one place. Question wording lives in `bot.domain.questions`, because each
question version is stored with its exact wording.

A text may mark words with a neutral markup: `*strong*`, and `` `code` `` for words to type as
shown (a command). `styled` reads a text into `bot.messages.Span`s that each renderer shows its
platform's way (Slack mrkdwn, Teams card markdown); `t` gives the plain reading, marks dropped.
A command is written `{cmd}report`: `cmd` is how a command starts where the reader types it
("/cx " in Slack, "@cxbot " in a Teams channel, nothing in a chat with the bot), which the
adapter tells the core (`bot.commands.base.Invocation.prefix`).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Literal

from bot.messages import Span

DEFAULT_LOCALE = "en"
LOCALES: tuple[str, ...] = ("en", "fi")


Catalogue = Mapping[str, Mapping[str, str]]


def catalogue(entries: dict[str, dict[str, str]]) -> Catalogue:
    """Freeze the catalogue so no caller can change a translation at run time."""
    return MappingProxyType({key: MappingProxyType(value) for key, value in entries.items()})


TEXTS: Catalogue = catalogue(
    {
        "thank_you": {"en": "Thanks for your answer!", "fi": "Kiitos vastauksestasi!"},
        "tell_us_why": {"en": "Tell us why", "fi": "Kerro miksi"},
        "survey_closed": {"en": "This survey has closed.", "fi": "Tämä kysely on suljettu."},
        "reminder": {
            "en": "A quick reminder: we'd love your answer.",
            "fi": "Pieni muistutus: vastauksesi olisi meille tärkeä.",
        },
        "not_your_survey": {
            "en": "This question is for {name}.",
            "fi": "Tämä kysymys on tarkoitettu henkilölle {name}.",
        },
        "survey_expired_note": {
            "en": "This survey has closed, so your answer was not recorded.",
            "fi": "Tämä kysely on suljettu, joten vastaustasi ei tallennettu.",
        },
        "too_few": {"en": "too few responses", "fi": "liian vähän vastauksia"},
        "changed_answer": {"en": "Your answer was updated.", "fi": "Vastauksesi päivitettiin."},
        "reasons_saved": {
            "en": "Thanks, we got your comments.",
            "fi": "Kiitos, saimme kommenttisi.",
        },
        # Respondents are told, in the survey itself, who sees their answer (SPEC §6).
        "anonymous_notice": {
            "en": "Your answer is anonymous: the account team sees it without your name.",
            "fi": "Vastauksesi on nimetön: asiakastiimi näkee sen ilman nimeäsi.",
        },
        "named_notice": {
            "en": "The account team sees your answer with your name, so they can follow up.",
            "fi": "Asiakastiimi näkee vastauksesi nimelläsi, jotta se voi palata asiaan.",
        },
        "alert_title": {"en": "Detractor alert", "fi": "Hälytys: heikko arvio"},
        "report_title": {"en": "Customer feedback report", "fi": "Asiakaspalauteraportti"},
        "digest_title": {"en": "Weekly customer feedback", "fi": "Viikon asiakaspalaute"},
        "submit": {"en": "Send", "fi": "Lähetä"},
        "cancel": {"en": "Cancel", "fi": "Peruuta"},
        "comment_label": {"en": "Comment (optional)", "fi": "Kommentti (vapaaehtoinen)"},
        "reasons_label": {"en": "What mattered most?", "fi": "Mikä vaikutti eniten?"},
        "interval": {
            "en": "95 % CI {low}\N{EN DASH}{high}",
            "fi": "95 %:n luottamusväli {low}\N{EN DASH}{high}",
        },
        # Labels of the figures `bot.domain.scoring.summarize` returns, keyed "figure_<FigureKind>".
        "figure_ces_mean": {"en": "CES mean", "fi": "CES-keskiarvo"},
        "figure_ease_index": {"en": "Ease index", "fi": "Helppousindeksi"},
        "figure_csat_pct": {"en": "CSAT", "fi": "CSAT"},
        "figure_top_box_pct": {"en": "Top box", "fi": "Erittäin tyytyväisiä"},
        "figure_nps": {"en": "NPS", "fi": "NPS"},
        # Chat renderers (Slack Block Kit, Teams cards): survey answers, alerts, digests.
        "your_score": {"en": "Your score: {score}", "fi": "Arviosi: {score}"},
        "alert_lead": {"en": "A customer gave a low score.", "fi": "Asiakas antoi heikon arvion."},
        "alert_follow_up": {"en": "Please follow up.", "fi": "Otathan asiakkaaseen yhteyttä."},
        "field_account": {"en": "Account", "fi": "Asiakasyritys"},
        "field_contact": {"en": "Contact", "fi": "Yhteyshenkilö"},
        "field_score": {"en": "Score", "fi": "Arvio"},
        "field_interaction": {"en": "Interaction", "fi": "Tapahtuma"},
        "field_reasons": {"en": "Reasons", "fi": "Syyt"},
        "status_line": {"en": "Status: {status}", "fi": "Tila: {status}"},
        "status_open": {"en": "Open", "fi": "Avoin"},
        "status_acknowledged": {"en": "Acknowledged", "fi": "Kuitattu"},
        "status_resolved": {"en": "Resolved", "fi": "Ratkaistu"},
        "assigned_to": {"en": "assigned to {user}", "fi": "vastuuhenkilö {user}"},
        "acknowledged_by": {"en": "acknowledged by {user}", "fi": "kuittasi {user}"},
        "no_response_title": {"en": "No answers", "fi": "Ei vastauksia"},
        "no_response_lead": {
            "en": "A key account has stopped answering.",
            "fi": "Avainasiakas on lakannut vastaamasta.",
        },
        "no_response_summary": {
            "en": "No answer to any of the {asked} feedback questions sent in the last "
            "{days} days.",
            "fi": "Ei vastausta yhteenkään {asked} palautekysymyksestä viimeisten {days} "
            "päivän aikana.",
        },
        "sla_reminder": {
            "en": "This alert has not been acknowledged within {hours} business hours.",
            "fi": "Tätä hälytystä ei ole kuitattu {hours} työtunnin kuluessa.",
        },
        "digest_vs_previous": {"en": "vs last week", "fi": "vs ed. viikko"},
        "digest_vs_target": {"en": "vs target", "fi": "vs tavoite"},
        "digest_ease": {"en": "ease index", "fi": "helppousindeksi"},
        "digest_kudos_line": {
            "en": "{account}: {count} top scores",
            "fi": "{account}: {count} huippuarviota",
        },
        "follow_up_thanks": {
            "en": "Thank you for your feedback. Here is what we did: {note}",
            "fi": "Kiitos palautteestasi. Teimme näin: {note}",
        },
        "command_help": {
            "en": (
                "*Commands*:\n"
                "• `{cmd}report [account] [--days N | --since YYYY-MM-DD] [--kind K] "
                "[--metric csat|ces|nps] [--by account|kind|week|owner] [--csv]`: figures, "
                "shown only to you (team leads and the account's team)\n"
                "• `{cmd}log <kind> @contact [note]`: log an interaction in a customer channel\n"
                "• `{cmd}optout` / `{cmd}optin`: stop or resume feedback questions for yourself\n"
                "• `{cmd}help`: this help"
            ),
            "fi": (
                "*Komennot*:\n"
                "• `{cmd}report [asiakas] [--days N | --since VVVV-KK-PP] [--kind K] "
                "[--metric csat|ces|nps] [--by account|kind|week|owner] [--csv]`: luvut, "
                "vain sinulle näkyvinä (tiiminvetäjät ja asiakkaan tiimi)\n"
                "• `{cmd}log <laji> @yhteyshenkilö [huomio]`: kirjaa asiointi asiakaskanavalla\n"
                "• `{cmd}optout` / `{cmd}optin`: lopeta tai jatka palautekyselyt itsellesi\n"
                "• `{cmd}help`: tämä ohje"
            ),
        },
        "unknown_command": {
            "en": "I don't know the command `{verb}`.",
            "fi": "En tunne komentoa `{verb}`.",
        },
        "card_not_understood": {
            "en": "I could not read that card's button. Please try again from a newer card.",
            "fi": "En saanut selvää kortin painikkeesta. Yritä uudelleen uudemmasta kortista.",
        },
        "not_for_customers": {
            "en": "Sorry, this command is for our own team only.",
            "fi": "Valitettavasti tämä komento on vain omalle tiimillemme.",
        },
        "log_usage": {
            "en": (
                "Usage: `{cmd}log <kind> @contact [note]`, "
                "for example `{cmd}log meeting @maija Kickoff`"
            ),
            "fi": (
                "Käyttö: `{cmd}log <laji> @yhteyshenkilö [huomio]`, "
                "esim. `{cmd}log meeting @maija Aloitus`"
            ),
        },
        "report_sent_privately": {
            "en": "I sent you the report in our private chat.",
            "fi": "Lähetin raportin sinulle yksityiskeskusteluumme.",
        },
        "alert_updated": {
            "en": "Done: the alert is updated.",
            "fi": "Tehty: hälytys on päivitetty.",
        },
        "try_again": {
            "en": "I could not check that just now, so nothing was done. Please try again.",
            "fi": "En voinut tarkistaa sitä juuri nyt, joten mitään ei tehty. Yritä uudelleen.",
        },
        "assignee_not_staff": {
            "en": "Alerts can be assigned only to people on our own team, not to customers.",
            "fi": "Hälytyksen voi antaa vain oman tiimimme jäsenelle, ei asiakkaalle.",
        },
        "alert_assigned": {
            "en": "this alert is yours now: please take a look.",
            "fi": "tämä hälytys on nyt sinun vastuullasi: katsothan sen.",
        },
        "log_needs_customer": {
            "en": "Mention the customer the interaction was with: colleagues are not surveyed.",
            "fi": "Mainitse asiakas, jonka kanssa asioitiin: kollegoille ei lähetetä kyselyitä.",
        },
        "log_not_a_member": {
            "en": (
                "I cannot find the person you mentioned among this conversation's members, "
                "so I cannot ask them for feedback. Mention someone who is in it."
            ),
            "fi": (
                "En löydä mainitsemaasi henkilöä tämän keskustelun jäsenistä, joten en voi "
                "pyytää häneltä palautetta. Mainitse joku, joka on mukana keskustelussa."
            ),
        },
        "not_a_customer_channel": {
            "en": "This channel does not belong to any account in the configuration.",
            "fi": "Tämä kanava ei kuulu yhdellekään asetuksissa määritellylle asiakkaalle.",
        },
        "logged": {
            "en": "Logged the {kind}; feedback question: {status}.",
            "fi": "Kirjattu ({kind}); palautekysely: {status}.",
        },
        # What became of a logged interaction's survey (`logged`'s status), keyed
        # "survey_<status>" or, when it was not sent, "survey_<bot.domain.rules.Suppression>".
        "survey_scheduled": {"en": "scheduled", "fi": "ajastettu"},
        "survey_none": {
            "en": "none, no program asks about this kind",
            "fi": "ei kyselyä, mikään ohjelma ei kysy tästä lajista",
        },
        "survey_cooldown": {
            "en": "not sent, the contact was asked recently",
            "fi": "ei lähetetä, yhteyshenkilöltä kysyttiin äskettäin",
        },
        "survey_opted_out": {
            "en": "not sent, the contact has opted out",
            "fi": "ei lähetetä, yhteyshenkilö on kieltäytynyt kyselyistä",
        },
        "survey_sampled_out": {
            "en": "not sent, not picked in the sample",
            "fi": "ei lähetetä, ei osunut otokseen",
        },
        "survey_cap": {
            "en": "not sent, the account's weekly limit is reached",
            "fi": "ei lähetetä, asiakkaan viikkoraja on täynnä",
        },
        "survey_no_route": {
            "en": "not sent, there is no way to reach the contact",
            "fi": "ei lähetetä, yhteyshenkilöä ei tavoiteta",
        },
        "survey_duplicate": {
            "en": "not sent, the contact already has an open question",
            "fi": "ei lähetetä, yhteyshenkilöllä on jo avoin kysymys",
        },
        "survey_stale": {
            "en": "not sent, the interaction is too old",
            "fi": "ei lähetetä, asiointi on liian vanha",
        },
        "opted_out": {
            "en": "Done: we won't ask you for feedback any more. `{cmd}optin` undoes this.",
            "fi": "Selvä: emme enää pyydä sinulta palautetta. `{cmd}optin` peruu tämän.",
        },
        "opted_in": {
            "en": "Done: we may ask you for feedback again now and then.",
            "fi": "Selvä: saatamme taas silloin tällöin pyytää palautettasi.",
        },
        "opt_unknown": {
            "en": "You have no feedback questions from us, so there is nothing to change.",
            "fi": "Sinulle ei ole palautekyselyitä meiltä, joten muutettavaa ei ole.",
        },
        "already_logged": {
            "en": "This message was logged before, so nothing changed.",
            "fi": "Tämä viesti on jo kirjattu, joten mikään ei muuttunut.",
        },
        "not_a_customer_message": {
            "en": "Pick a customer's message in one of their channels to ask them for feedback.",
            "fi": "Valitse asiakkaan viesti hänen kanavallaan pyytääksesi palautetta.",
        },
        "unknown_message_action": {
            "en": "cxbot does not know this action. The app may be out of date: ask your "
            "Teams admin to upload its current package.",
            "fi": "cxbot ei tunne tätä toimintoa. Sovellus voi olla vanhentunut: pyydä "
            "Teams-ylläpitäjää lataamaan sen nykyinen paketti.",
        },
        "opened_at": {"en": "Opened {date}", "fi": "Avattu {date}"},
        "acknowledge": {"en": "Acknowledge", "fi": "Kuittaa"},
        "assign_placeholder": {"en": "Assign to…", "fi": "Valitse vastuuhenkilö…"},
        "resolve": {"en": "Resolve", "fi": "Ratkaise"},
        "resolve_title": {"en": "Resolve alert", "fi": "Ratkaise hälytys"},
        "outcome_label": {"en": "Outcome", "fi": "Lopputulos"},
        "note_label": {"en": "What did we do?", "fi": "Mitä teimme?"},
        "notify_label": {"en": "Close the loop", "fi": "Palaute asiakkaalle"},
        "notify_option": {
            "en": "Send the customer a short thank-you with what we did",
            "fi": "Lähetä asiakkaalle lyhyt kiitos ja kerro, mitä teimme",
        },
        # Labels of `bot.alerts.workflow.Outcome`, keyed "outcome_<value>".
        "outcome_contacted": {
            "en": "Contacted the customer",
            "fi": "Asiakkaaseen otettiin yhteyttä",
        },
        "outcome_fixed": {"en": "Fixed the issue", "fi": "Ongelma korjattiin"},
        "outcome_no_action_needed": {"en": "No action needed", "fi": "Ei vaadi toimenpiteitä"},
        "outcome_other": {"en": "Other", "fi": "Muu"},
        "outcome_score_changed": {"en": "Score changed", "fi": "Arvio muuttui"},
        "outcome_missing": {
            "en": "Pick the outcome from the list.",
            "fi": "Valitse lopputulos luettelosta.",
        },
        "notify_no_survey": {
            "en": "This alert has no customer thread to answer in: untick this to resolve it.",
            "fi": "Tällä hälytyksellä ei ole asiakkaan keskustelua, johon vastata: poista "
            "valinta ratkaistaksesi sen.",
        },
        "alert_score_changed": {
            "en": "The customer changed their score to {score}, no longer a low score: "
            "the alert was closed automatically.",
            "fi": "Asiakas muutti arvionsa: {score}. Arvio ei ole enää heikko, joten "
            "hälytys suljettiin automaattisesti.",
        },
        "digest_alerts": {
            "en": "Alerts: {open} open, {overdue} overdue",
            "fi": "Hälytykset: {open} avoinna, {overdue} myöhässä",
        },
        "digest_best": {"en": "Best comments", "fi": "Parhaat kommentit"},
        "digest_worst": {"en": "Lowest scores", "fi": "Heikoimmat arviot"},
        "digest_kudos": {"en": "Kudos", "fi": "Kiitokset"},
        "more_rows": {"en": "… and {count} more rows", "fi": "… ja {count} riviä lisää"},
        # The name in a Teams mention (`<at>…</at>`) when the adapter does not know the person's.
        "mention_fallback": {"en": "you", "fi": "sinä"},
    }
)


@lru_cache(maxsize=64)
def normalize_locale(locale: str | None) -> str:
    """Map a platform locale ("fi-FI", "fi_FI", "FI", None) to one we have texts for.

    Slack and Teams report region-qualified locales; anything we do not translate falls back to
    English rather than failing, because a message in the wrong language beats no message.
    """
    if not locale:
        return DEFAULT_LOCALE
    language = locale.replace("_", "-").split("-", 1)[0].lower()
    return language if language in LOCALES else DEFAULT_LOCALE


def localized(variants: Mapping[str, str], locale: str | None) -> str:
    """Pick the variant for `locale` from a per-locale mapping, falling back to English."""
    return variants.get(normalize_locale(locale)) or variants[DEFAULT_LOCALE]


def t(key: str, locale: str | None, **params: object) -> str:
    """The text `key` in `locale` with `{placeholders}` filled from `params`, as plain text
    (markup marks dropped).

    An unknown key is a programming error and raises KeyError naming the key, instead of
    showing a customer an empty or raw-key message.
    """
    return render(TEXTS, key, locale, params)


def styled(key: str, locale: str | None, **params: object) -> tuple[Span, ...]:
    """The text `key` in `locale` as spans with their emphasis; the `params` are typed spans
    in the emphasis of where they stand, never read as markup themselves."""
    return render_styled(TEXTS, key, locale, params)


def render(texts: Catalogue, key: str, locale: str | None, params: Mapping[str, object]) -> str:
    """The one lookup of every catalogue: the variant for `locale` (else English), filled."""
    template = _template(texts, key, locale)
    if not any(mark in template for mark in _MARKS):
        return template.format(**params)
    return "".join(span.text for span in _fill(template, params))


def render_styled(
    texts: Catalogue, key: str, locale: str | None, params: Mapping[str, object]
) -> tuple[Span, ...]:
    """`render`, as spans (`styled`)."""
    return _fill(_template(texts, key, locale), params)


def _template(texts: Catalogue, key: str, locale: str | None) -> str:
    try:
        variants = texts[key]
    except KeyError:
        raise KeyError(f"no user-facing text with key {key!r}") from None
    return localized(variants, locale)


Style = Literal["strong", "code"] | None
_MARKS: Mapping[str, Literal["strong", "code"]] = MappingProxyType({"*": "strong", "`": "code"})
# A template read once: (its words, or the name of a placeholder, and their style) in order.
_Piece = tuple[str, bool, Style]


def _fill(template: str, params: Mapping[str, object]) -> tuple[Span, ...]:
    return tuple(
        Span(text=str(params[word]), style=style, typed=True)
        if placeholder
        else Span(text=word, style=style)
        for word, placeholder, style in _pieces(template)
        if placeholder or word
    )


@lru_cache(maxsize=256)
def _pieces(template: str) -> tuple[_Piece, ...]:
    """The template's words and placeholders with their style. A mark opens its style, the
    same mark closes it; the other mark inside a style is a plain character. A mark left
    open is a mistake in the catalogue (tests read every text)."""
    pieces: list[_Piece] = []
    style: Style = None
    for literal, field, _, _ in string.Formatter().parse(template):
        word = ""
        for char in literal:
            mark = _MARKS.get(char)
            if mark is None or (style is not None and style != mark):
                word += char
                continue
            pieces.append((word, False, style))
            word, style = "", None if style == mark else mark
        pieces.append((word, False, style))
        if field is not None:
            pieces.append((field, True, style))
    if style is not None:
        raise ValueError(f"a {style} mark is not closed in {template!r}")
    return tuple(pieces)
