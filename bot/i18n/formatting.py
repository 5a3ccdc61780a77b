"""How figures read in chat: "82 %", "5.4", "+31", or "too few responses (n=2)" (SPEC §1:
a figure over too few responses is never shown as a number), in the house style of each
kind of figure, with a decimal comma in Finnish."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from bot.domain.scoring import Figure, FigureKind
from bot.i18n.texts import normalize_locale, t

# House style per figure: (unit, decimals, signed). Net scores are signed: "+" carries meaning.
_STYLES: Mapping[FigureKind, tuple[str, int, bool]] = MappingProxyType(
    {
        FigureKind.CES_MEAN: ("", 1, False),
        FigureKind.EASE_INDEX: ("", 0, True),
        FigureKind.CSAT_PCT: ("%", 0, False),
        FigureKind.TOP_BOX_PCT: ("%", 0, False),
        FigureKind.NPS: ("", 0, True),
    }
)


def _number(value: float, *, decimals: int, signed: bool, locale: str | None) -> str:
    """Rounded number; never "-0" or "+0", and a decimal comma in Finnish."""
    rounded = round(value, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    digits = format(rounded, _spec(decimals, signed and rounded != 0))
    return digits.replace(".", ",") if normalize_locale(locale) == "fi" else digits


@lru_cache(maxsize=16)
def _spec(decimals: int, plus: bool) -> str:
    """The format spec of `_number`, made once: a report formats thousands of numbers."""
    return f"{'+' if plus else ''}.{decimals}f"


def format_figure(
    fig: Figure,
    *,
    unit: str = "",
    decimals: int = 0,
    signed: bool = False,
    locale: str | None = "en",
    interval: bool = False,
) -> str:
    """Render as "82 %", "5.4", "+31" or "too few responses (n=2)"; `interval` adds the CI."""
    if fig.value is None:
        return f"{t('too_few', locale)} (n={fig.n})"
    suffix = f" {unit}" if unit else ""
    text = _number(fig.value, decimals=decimals, signed=signed, locale=locale) + suffix
    if interval and fig.low is not None and fig.high is not None:
        low, high = (
            _number(v, decimals=decimals, signed=signed, locale=locale) for v in (fig.low, fig.high)
        )
        text += f" ({t('interval', locale, low=low, high=high + suffix)})"
    return text


def format_kind(
    fig: Figure, kind: FigureKind, *, locale: str | None = "en", interval: bool = False
) -> str:
    """`format_figure` in the house style for `kind` (CES mean 1 decimal, shares in %, ...)."""
    unit, decimals, signed = _STYLES[kind]
    return format_figure(
        fig, unit=unit, decimals=decimals, signed=signed, locale=locale, interval=interval
    )
