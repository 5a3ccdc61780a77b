"""The words of `/cx report` and the account report, in English and Finnish: a catalogue of
its own beside `bot.i18n.texts`, because reports have many words that nothing else uses."""

from __future__ import annotations

from bot.i18n.texts import catalogue, render, render_styled
from bot.messages import Span

TEXTS = catalogue(
    {
        # Column labels (also the CSV header).
        "n": {"en": "n", "fi": "n"},
        "rate": {"en": "response rate", "fi": "vastausaste"},
        "csat": {"en": "CSAT %", "fi": "CSAT %"},
        "top_box": {"en": "top box %", "fi": "erittäin tyytyväisiä %"},
        "ces": {"en": "CES mean", "fi": "CES-keskiarvo"},
        "ease": {"en": "ease index", "fi": "helppousindeksi"},
        "nps": {"en": "NPS", "fi": "NPS"},
        "trend": {"en": "trend", "fi": "kehitys"},
        "trend_figure": {"en": "trend figure", "fi": "kehityksen luku"},
        "low": {"en": "{label} 95 % CI low", "fi": "{label} 95 %:n luottamusväli alaraja"},
        "high": {"en": "{label} 95 % CI high", "fi": "{label} 95 %:n luottamusväli yläraja"},
        "group": {"en": "group", "fi": "ryhmä"},
        "total": {"en": "Total", "fi": "Yhteensä"},
        "no_owner": {"en": "(none)", "fi": "(ei vastuuhenkilöä)"},
        # Title qualifiers.
        "by_account": {"en": "by account", "fi": "asiakkaittain"},
        "by_kind": {"en": "by kind", "fi": "lajeittain"},
        "by_week": {"en": "by week ({tz})", "fi": "viikoittain ({tz})"},
        "by_owner": {"en": "by owner", "fi": "vastuuhenkilöittäin"},
        "kind_filter": {"en": "kind {kind}", "fi": "laji {kind}"},
        # The note under the table.
        "note_size": {
            "en": "Figures over fewer than {size} responses are not shown.",
            "fi": "Alle {size} vastauksen lukuja ei näytetä.",
        },
        "note_trend": {
            "en": "Trend: change of the row's most answered figure vs the previous {days} days.",
            "fi": "Kehitys: rivin vastatuimman luvun muutos edellisiin {days} päivään verrattuna.",
        },
        "note_trend_week": {
            "en": (
                "Trend: change of the row's most answered figure vs the week before (the "
                "total: vs the previous {days} days). Weeks are ISO weeks in {tz}."
            ),
            "fi": (
                "Kehitys: rivin vastatuimman luvun muutos edelliseen viikkoon verrattuna "
                "(yhteensä-rivillä edellisiin {days} päivään). Viikot ovat ISO-viikkoja, {tz}."
            ),
        },
        "note_interval": {
            "en": "In brackets: the 95 % confidence interval.",
            "fi": "Suluissa 95 %:n luottamusväli.",
        },
        # Answers of the command itself.
        "no_accounts": {
            "en": (
                "You are not on any account's team, so there are no figures to show you. "
                "A team lead can add you to an account's team in the configuration."
            ),
            "fi": (
                "Et kuulu minkään asiakkaan tiimiin, joten sinulle ei ole näytettäviä lukuja. "
                "Tiiminvetäjä voi lisätä sinut asiakkaan tiimiin asetuksissa."
            ),
        },
        "not_yours": {
            "en": "you may see the figures of your own accounts only ({allowed}), and {name} "
            "is not one of them",
            "fi": "voit nähdä vain omien asiakkaidesi luvut ({allowed}), eikä {name} ole "
            "yksi niistä",
        },
        "csv_sent": {
            "en": "The CSV file is in your direct messages with me.",
            "fi": "CSV-tiedosto on yksityisviesteissäsi minulta.",
        },
        "csv_not_yours": {
            "en": "This file is for the person who asked for the report.",
            "fi": "Tämä tiedosto on raportin pyytäjälle.",
        },
        "csv_failed": {
            "en": "I could not send you the CSV file just now; please try again in a moment.",
            "fi": "En saanut lähetettyä CSV-tiedostoa juuri nyt; yritä hetken päästä uudelleen.",
        },
        # Mistakes in a `report` command, named before the help (`bot.commands.base.Mistake`).
        # A `{value}` is what the caller typed, quoted.
        "one_account": {
            "en": "give one account at most, not {listed} "
            '(put a name with spaces in quotes: `"Aurora Logistics Oy"`)',
            "fi": "anna enintään yksi asiakas, ei {listed} "
            '(laita välilyöntejä sisältävä nimi lainausmerkkeihin: `"Aurora Logistics Oy"`)',
        },
        "and": {"en": "and", "fi": "ja"},
        "unknown_option": {
            "en": "unknown option `{option}`",
            "fi": "tuntematon valitsin `{option}`",
        },
        "given_twice": {"en": "`--{name}` is given twice", "fi": "`--{name}` on annettu kahdesti"},
        "takes_no_value": {"en": "`--{name}` takes no value", "fi": "`--{name}` ei ota arvoa"},
        "needs_value": {"en": "`--{name}` needs a value", "fi": "`--{name}` tarvitsee arvon"},
        "days_or_since": {
            "en": "use `--days` or `--since`, not both",
            "fi": "käytä joko `--days` tai `--since`, ei molempia",
        },
        "days_range": {
            "en": "`--days` takes a whole number from 1 to {max}, not {value}",
            "fi": "`--days` ottaa kokonaisluvun väliltä 1–{max}, ei {value}",
        },
        "since_format": {
            "en": "`--since` takes a date like 2026-01-31, not {value}",
            "fi": "`--since` ottaa päivämäärän muodossa 2026-01-31, ei {value}",
        },
        "since_future": {
            "en": "`--since` must be in the past, and {value} is not",
            "fi": "`--since`-päivän on oltava menneisyydessä, eikä {value} ole",
        },
        "since_too_old": {
            "en": "`--since` goes back {max} days at most, not to {value}",
            "fi": "`--since` ulottuu enintään {max} päivän taakse, ei päivään {value}",
        },
        "too_many_weeks": {
            "en": "`--by week` shows {weeks} weeks at most: use `--days {days}` or less",
            "fi": "`--by week` näyttää enintään {weeks} viikkoa: käytä `--days {days}` "
            "tai vähemmän",
        },
        "kind_value": {
            "en": "`--kind` takes an interaction kind like support_ticket, not {value}",
            "fi": "`--kind` ottaa asioinnin lajin, kuten support_ticket, ei {value}",
        },
        "metric_value": {
            "en": "`--metric` takes csat, ces or nps, not {value}",
            "fi": "`--metric` ottaa arvon csat, ces tai nps, ei {value}",
        },
        "by_value": {
            "en": "`--by` takes {choices}, not {value}",
            "fi": "`--by` ottaa arvon {choices}, ei {value}",
        },
        "no_such_account": {
            "en": "no account called {value}",
            "fi": "ei asiakasta nimeltä {value}",
        },
        "open_quote": {
            "en": "cannot read the command: a quotation mark is not closed",
            "fi": "komentoa ei voi lukea: lainausmerkki jää sulkematta",
        },
        "unreadable": {
            "en": "cannot read the command: it ends in a backslash",
            "fi": "komentoa ei voi lukea: se päättyy kenoviivaan",
        },
    }
)


def text(key: str, locale: str | None, **params: object) -> str:
    """The report text `key` in `locale`, with `{placeholders}` filled from `params`."""
    return render(TEXTS, key, locale, params)


def styled(key: str, locale: str | None, **params: object) -> tuple[Span, ...]:
    """The report text `key` as spans with their emphasis (`bot.i18n.texts.styled`)."""
    return render_styled(TEXTS, key, locale, params)
