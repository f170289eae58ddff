"""Scores over seeds and against a baseline, against textbook values and by simulation."""

import math

import numpy as np
import pytest
import scipy.stats

from qaaan import comparison


def test_summary_of_five_values_is_the_textbook_one():
    summary = comparison.summarise([1.0, 2.0, 3.0, 4.0, 5.0])
    assert summary["n"] == 5 and summary["mean"] == 3.0
    assert summary["std"] == pytest.approx(math.sqrt(2.5))
    # mean ± t(0.975, 4) * s / sqrt(n), t(0.975, 4) = 2.7764451 from the tables
    half_width = 2.7764451 * math.sqrt(2.5) / math.sqrt(5)
    assert summary["ci95"] == pytest.approx([3.0 - half_width, 3.0 + half_width], abs=1e-6)


def test_undefined_figures_are_nan_and_null_in_json():
    single = comparison.summarise([7.0])
    assert single["mean"] == 7.0 and math.isnan(single["std"]) and math.isnan(single["ci95"][0])
    assert comparison.summarise([2.0, 2.0])["ci95"] == [2.0, 2.0]
    flat = comparison.against([1.0, 1.0], [1.0, 1.0])
    assert math.isnan(flat["p_value"]) and math.isnan(flat["effect_size"])
    assert comparison.json_safe({"a": [math.nan, 1.0], "b": (2, math.nan)}) == {
        "a": [None, 1.0], "b": [2, None]
    }  # fmt: skip
    assert comparison.mean_and_std(single) == "7.000"
    assert comparison.effect_and_p(flat) == "–"


def test_welch_test_matches_the_welch_satterthwaite_formula():
    values, baseline = [9.0, 10.0, 11.0, 12.5], [8.0, 8.5, 9.0]
    result = comparison.against(values, baseline)
    v1, v2 = np.var(values, ddof=1) / len(values), np.var(baseline, ddof=1) / len(baseline)
    t = (np.mean(values) - np.mean(baseline)) / math.sqrt(v1 + v2)
    dof = (v1 + v2) ** 2 / (v1**2 / (len(values) - 1) + v2**2 / (len(baseline) - 1))
    assert result["p_value"] == pytest.approx(2 * scipy.stats.t.sf(abs(t), dof), rel=1e-9)
    scale = math.sqrt((np.var(values, ddof=1) + np.var(baseline, ddof=1)) / 2)
    assert result["effect_size"] == pytest.approx((np.mean(values) - 8.5) / scale, rel=1e-12)
    assert comparison.effect_and_p(result).startswith(f"d = +{result['effect_size']:.2f}, p = 0.0")
    assert comparison.effect_and_p({"effect_size": 9.0, "p_value": 1e-5}) == "d = +9.00, p < 0.001"


def test_intervals_cover_and_p_values_reject_at_their_nominal_rates():
    # 4000 experiments of three seeds each, the table's usual size, from one normal law
    rng = np.random.default_rng(0)
    draws = rng.normal(5.0, 2.0, size=(4000, 2, 3))
    covered = [comparison.summarise(list(d[0]))["ci95"] for d in draws]
    coverage = np.mean([low <= 5.0 <= high for low, high in covered])
    rejected = np.mean([comparison.against(list(a), list(b))["p_value"] < 0.05 for a, b in draws])
    # binomial standard error at 4000 trials is about 0.0035 around 0.95
    assert abs(coverage - 0.95) < 0.015
    # Welch's test is slightly conservative at 3 + 3 seeds; it must not reject more than 5%
    assert 0.02 < rejected <= 0.05
