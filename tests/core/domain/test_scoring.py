"""Scoring against hand-computed tables (SPEC §1).

Expected values are worked out here from the definitions and closed formulas, never by calling
the function under test, so a wrong formula cannot agree with itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import pytest

from bot.domain.scoring import (
    Figure,
    FigureKind,
    Metric,
    ces_mean,
    csat_pct,
    detractor_max,
    ease_index,
    is_detractor,
    nps,
    score_range,
    summarize,
    top_box_pct,
    wilson_interval,
)
from bot.i18n.formatting import format_figure, format_kind

Z = 1.959963984540054
Compute = Callable[[Mapping[int, int]], Figure]

# 3 fives, 1 four, 1 three, 0 twos, 1 one: n = 6, satisfied (4-5) = 4, top box (5) = 3.
CSAT_H = {5: 3, 4: 1, 3: 1, 2: 0, 1: 1}
# Scores 7, 7, 6, 5, 4, 3, 1: n = 7, sum 33, easy (5-7) = 4, difficult (1-3) = 2.
CES_H = {7: 2, 6: 1, 5: 1, 4: 1, 3: 1, 1: 1}


def _wilson_by_hand(k: int, n: int) -> tuple[float, float]:
    """(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), in percent."""
    p = k / n
    centre = p + Z**2 / (2 * n)
    spread = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    denominator = 1 + Z**2 / n
    return 100 * (centre - spread) / denominator, 100 * (centre + spread) / denominator


def test_wilson_interval_for_4_of_6_matches_the_closed_formula() -> None:
    low, high = wilson_interval(4, 6)
    expected_low, expected_high = _wilson_by_hand(4, 6)
    assert low == pytest.approx(expected_low, abs=1e-3)
    assert high == pytest.approx(expected_high, abs=1e-3)
    # And against numbers worked out on paper, in case the helper above shares a typo.
    assert low == pytest.approx(29.999, abs=1e-3)
    assert high == pytest.approx(90.323, abs=1e-3)


def test_wilson_interval_stays_inside_0_100_at_the_extremes() -> None:
    none_low, none_high = wilson_interval(0, 5)
    all_low, all_high = wilson_interval(5, 5)
    assert none_low == 0.0
    assert none_high == pytest.approx(_wilson_by_hand(0, 5)[1], abs=1e-9)
    assert all_high == pytest.approx(100.0)
    assert all_low == pytest.approx(_wilson_by_hand(5, 5)[0], abs=1e-9)
    assert 0 < none_high < 50 < all_low < 100


@pytest.mark.parametrize(("k", "n"), [(0, 0), (3, 2), (-1, 4)])
def test_wilson_interval_rejects_impossible_counts(k: int, n: int) -> None:
    with pytest.raises(ValueError):
        wilson_interval(k, n)


def test_csat_and_top_box_from_a_histogram() -> None:
    csat = csat_pct(CSAT_H)
    top = top_box_pct(CSAT_H)
    assert (csat.n, top.n) == (6, 6)
    assert csat.value == pytest.approx(66.67, abs=0.005)
    assert top.value == pytest.approx(50.0)
    assert (csat.low, csat.high) == pytest.approx(_wilson_by_hand(4, 6))
    assert (top.low, top.high) == pytest.approx(_wilson_by_hand(3, 6))


def test_nps_counts_passives_in_the_denominator() -> None:
    figure = nps({10: 5, 9: 0, 8: 2, 6: 3})
    assert figure.n == 10
    assert figure.value == pytest.approx((5 - 3) / 10 * 100)
    assert figure.value == pytest.approx(20.0)


def test_nps_of_only_passives_is_zero_with_n_counted() -> None:
    figure = nps({7: 4, 8: 3})
    assert figure.n == 7
    assert figure.value == 0.0
    assert not figure.too_few


def test_nps_interval_is_adjusted_wald() -> None:
    # 5 promoters, 3 detractors, n = 10 -> add 3/4 to each group and 3 to n.
    n_adj = 13
    promoters, detractors = 5.75 / n_adj, 3.75 / n_adj
    half = Z * math.sqrt((promoters + detractors - (promoters - detractors) ** 2) / n_adj)
    figure = nps({10: 5, 8: 2, 6: 3})
    assert figure.low == pytest.approx(100 * (promoters - detractors - half))
    assert figure.high == pytest.approx(100 * (promoters - detractors + half))


def test_nps_interval_does_not_collapse_when_everyone_agrees() -> None:
    figure = nps({10: 4})
    assert figure.value == 100.0
    assert figure.high == 100.0
    assert figure.low is not None and figure.low < 100.0


def test_ces_mean_and_ease_index() -> None:
    mean = ces_mean(CES_H)
    ease = ease_index(CES_H)
    assert mean.n == ease.n == 7
    assert mean.value == pytest.approx(33 / 7)
    assert ease.value == pytest.approx((4 - 2) / 7 * 100)
    assert ease.value == pytest.approx(28.571, abs=1e-3)


def test_ces_mean_has_a_student_t_interval() -> None:
    scores = [7, 7, 6, 5, 4, 3, 1]
    mean = sum(scores) / 7
    variance = sum((s - mean) ** 2 for s in scores) / 6
    half = 2.4469 * math.sqrt(variance / 7)  # t(0.975, df=6) from a printed table
    figure = ces_mean(CES_H)
    assert figure.low == pytest.approx(mean - half, abs=1e-3)
    assert figure.high == pytest.approx(mean + half, abs=1e-3)


def test_ces_mean_interval_is_clipped_to_the_scale() -> None:
    figure = ces_mean({7: 2, 1: 1})
    assert figure.low == 1.0
    assert figure.high == 7.0


def test_ease_index_ignores_neutral_fours_except_in_n() -> None:
    figure = ease_index({4: 3, 7: 1})
    assert figure.n == 4
    assert figure.value == pytest.approx(25.0)


@pytest.mark.parametrize(
    "compute", [ces_mean, ease_index, csat_pct, top_box_pct, nps], ids=lambda f: f.__name__
)
@pytest.mark.parametrize("histogram", [{}, {5: 0}, {5: 1, 4: 1}])
def test_fewer_than_min_group_size_is_too_few(compute: Compute, histogram: dict[int, int]) -> None:
    figure = compute(histogram)
    assert figure.too_few
    assert figure.value is None and figure.low is None and figure.high is None
    assert figure.n == sum(histogram.values())


def test_min_group_size_is_a_parameter_but_n_zero_is_always_too_few() -> None:
    assert csat_pct({5: 1}, min_group_size=1).value == 100.0
    assert csat_pct({5: 3}, min_group_size=4).too_few
    assert csat_pct({}, min_group_size=0).too_few


def test_a_single_ces_answer_has_a_mean_but_no_interval() -> None:
    figure = ces_mean({6: 1}, min_group_size=1)
    assert figure.value == 6.0
    assert figure.low is None and figure.high is None


@pytest.mark.parametrize(
    ("compute", "histogram"),
    [
        (ces_mean, {8: 1, 7: 3}),
        (ease_index, {0: 1, 7: 3}),
        (csat_pct, {6: 1, 5: 3}),
        (top_box_pct, {0: 2, 5: 3}),
        (nps, {11: 1, 10: 3}),
        (nps, {-1: 1, 10: 3}),
        (csat_pct, {5: -1, 4: 5}),
    ],
)
def test_corrupt_histograms_raise(compute: Compute, histogram: dict[int, int]) -> None:
    with pytest.raises(ValueError):
        compute(histogram)


@pytest.mark.parametrize(
    ("metric", "last_detractor", "first_non_detractor"),
    [(Metric.CES, 3, 4), (Metric.CSAT, 2, 3), (Metric.NPS, 6, 7)],
)
def test_detractor_thresholds_at_the_boundary(
    metric: Metric, last_detractor: int, first_non_detractor: int
) -> None:
    low, high = score_range(metric)
    assert is_detractor(metric, low)
    assert is_detractor(metric, last_detractor)
    assert not is_detractor(metric, first_non_detractor)
    assert not is_detractor(metric, high)
    assert detractor_max(metric) == last_detractor


def test_score_ranges() -> None:
    assert score_range(Metric.CES) == (1, 7)
    assert score_range(Metric.CSAT) == (1, 5)
    assert score_range(Metric.NPS) == (0, 10)


def test_is_detractor_refuses_scores_off_the_scale() -> None:
    with pytest.raises(ValueError):
        is_detractor(Metric.CSAT, 0)
    with pytest.raises(ValueError):
        is_detractor(Metric.NPS, 11)


def test_summarize_csat() -> None:
    summary = summarize(Metric.CSAT, CSAT_H)
    assert summary.n == 6
    assert summary.detractors == 1  # only the 1; the 2 bucket is empty and 3 is neutral
    assert summary.headline.value == pytest.approx(400 / 6)
    assert summary.secondary is not None
    assert summary.secondary.value == pytest.approx(50.0)
    assert (summary.headline_kind, summary.secondary_kind) == (
        FigureKind.CSAT_PCT,
        FigureKind.TOP_BOX_PCT,
    )


def test_summarize_ces_and_nps() -> None:
    ces = summarize(Metric.CES, CES_H)
    assert (ces.n, ces.detractors) == (7, 2)
    assert ces.headline.value == pytest.approx(33 / 7)
    assert ces.secondary is not None and ces.secondary.value == pytest.approx(200 / 7)
    promoters = summarize(Metric.NPS, {10: 5, 8: 2, 6: 3})
    assert (promoters.n, promoters.detractors) == (10, 3)
    assert promoters.headline.value == pytest.approx(20.0)
    assert promoters.secondary is None and promoters.secondary_kind is None


def test_summarize_small_group_still_counts_n_and_detractors() -> None:
    summary = summarize(Metric.NPS, {3: 1, 10: 1})
    assert summary.headline.too_few
    assert (summary.n, summary.detractors) == (2, 1)


def test_format_figures() -> None:
    assert format_figure(Figure(n=6, value=400 / 6), unit="%") == "67 %"
    assert format_figure(Figure(n=7, value=5.43), decimals=1) == "5.4"
    assert format_figure(Figure(n=10, value=31.2), signed=True) == "+31"
    assert format_figure(Figure(n=10, value=-12.6), signed=True) == "-13"
    assert format_figure(Figure(n=10, value=-0.3), signed=True) == "0"


def test_format_too_few_never_shows_a_number() -> None:
    assert format_figure(Figure(n=2, value=None)) == "too few responses (n=2)"
    assert format_figure(Figure(n=0, value=None), unit="%") == "too few responses (n=0)"
    assert format_figure(nps({}), locale="fi") == "liian vähän vastauksia (n=0)"
    assert format_kind(csat_pct({5: 2}), FigureKind.CSAT_PCT) == "too few responses (n=2)"


def test_format_in_finnish_uses_a_decimal_comma() -> None:
    assert format_figure(Figure(n=7, value=5.43), decimals=1, locale="fi-FI") == "5,4"


def test_format_kind_applies_the_house_style() -> None:
    assert format_kind(ces_mean(CES_H), FigureKind.CES_MEAN) == "4.7"
    assert format_kind(ease_index(CES_H), FigureKind.EASE_INDEX) == "+29"
    assert format_kind(top_box_pct(CSAT_H), FigureKind.TOP_BOX_PCT) == "50 %"
    assert format_kind(nps({10: 5, 8: 2, 6: 3}), FigureKind.NPS) == "+20"


def test_format_with_interval() -> None:
    figure = Figure(n=6, value=400 / 6, low=29.999, high=90.323)
    assert format_figure(figure, unit="%", interval=True) == "67 % (95 % CI 30\N{EN DASH}90 %)"
    assert format_figure(figure, unit="%", interval=True, locale="fi").endswith(
        "(95 %:n luottamusväli 30\N{EN DASH}90 %)"
    )


def test_ces_mean_interval_beyond_the_t_table() -> None:
    # n = 41, df = 40: t(0.975, 40) = 2.0211 from a printed table.
    mean = (21 * 7 + 20 * 1) / 41
    variance = (21 * (7 - mean) ** 2 + 20 * (1 - mean) ** 2) / 40
    half = 2.0211 * math.sqrt(variance / 41)
    figure = ces_mean({7: 21, 1: 20})
    assert figure.low == pytest.approx(mean - half, abs=1e-3)
    assert figure.high == pytest.approx(mean + half, abs=1e-3)


def test_praise_counts_the_top_of_each_scale() -> None:
    assert summarize(Metric.CES, {7: 3, 6: 5, 1: 1}).praise == 3
    assert summarize(Metric.CSAT, {5: 2, 4: 9}).praise == 2
    assert summarize(Metric.NPS, {10: 1, 9: 2, 8: 7, 0: 4}).praise == 3
    assert summarize(Metric.NPS, {}).praise == 0
    # Counted whatever the group's size: kudos name answers, not a figure.
    assert summarize(Metric.CES, {7: 2}, min_group_size=5).praise == 2
