"""Scores over seeds, and one prior against a baseline: the statistics of every results table.

A table row summarises one score of one setting over its seeds: the mean, the sample standard
deviation and the 95% confidence interval of the mean from Student's t distribution
(`scipy.stats.t`; a few seeds give a wide interval, as they should). Against a baseline row,
Welch's t test (`scipy.stats.ttest_ind` with unequal variances; two-sided) gives the p-value,
and the effect size is Cohen's d with the mean of the two variances as its scale (d_av, the
form that goes with Welch's test; no small-sample correction, so with three seeds a side it
reads about 25% larger than Hedges' g): d = (mean - baseline mean) / sqrt((s^2 + s_b^2) / 2).

Where a figure is undefined (one seed, or no spread in either group) it is NaN, written as null
in JSON and as a dash in tables.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import scipy.stats

CONFIDENCE = 0.95


def summarise(values: Sequence[float]) -> dict[str, float | int | list[float]]:
    """n, mean, std (n - 1 in the denominator) and the 95% interval of the mean."""
    n = len(values)
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if n > 1 else math.nan
    if n > 1 and std > 0:
        low, high = scipy.stats.t.interval(CONFIDENCE, n - 1, loc=mean, scale=std / math.sqrt(n))
    else:
        low = high = mean if n > 1 else math.nan
    return {"n": n, "mean": mean, "std": std, "ci95": [float(low), float(high)]}


def against(values: Sequence[float], baseline: Sequence[float]) -> dict[str, float]:
    """Welch's t test of `values` against `baseline`: the p-value and Cohen's d."""
    if len(values) < 2 or len(baseline) < 2:
        return {"p_value": math.nan, "effect_size": math.nan}
    scale = math.sqrt((statistics.variance(values) + statistics.variance(baseline)) / 2)
    if scale == 0:
        return {"p_value": math.nan, "effect_size": math.nan}
    test = scipy.stats.ttest_ind(values, baseline, equal_var=False)
    difference = statistics.fmean(values) - statistics.fmean(baseline)
    return {"p_value": float(test.pvalue), "effect_size": difference / scale}


def json_safe(value: object) -> object:
    """`value` with every NaN inside it made None: JSON has no NaN, an undefined figure is null."""
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return None if isinstance(value, float) and math.isnan(value) else value


def mean_and_std(summary: dict) -> str:
    """A table cell: mean ± std, or the mean alone where the std is undefined."""
    if math.isnan(summary["std"]):
        return f"{summary['mean']:.3f}"
    return f"{summary['mean']:.3f} ± {summary['std']:.3f}"


def effect_and_p(summary: dict) -> str:
    """A table cell: Cohen's d and the p-value, or a dash where they are undefined."""
    if math.isnan(summary["p_value"]):
        return "–"
    p_value = summary["p_value"]
    shown = "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"
    return f"d = {summary['effect_size']:+.2f}, {shown}"
