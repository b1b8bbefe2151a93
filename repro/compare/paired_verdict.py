"""Verdicts of the paired design: runs on identical connectivity compared pair by pair.

Used when :func:`repro.compare.pairing.pair_runs` proves the pairing. Per cell, the unit is
the pair (one connectivity realisation; noise replicates of a side are averaged first):

* the difference of run-level means (candidate - baseline) per pair is tested with the
  paired t-test or an exact sign-flip test (:func:`repro.compare.paired.paired_test`);
* Benjamini-Hochberg across cells, and next to it the max-|t| test across cells
  (:func:`repro.compare.paired.max_t_test`), which respects the correlation between cells;
  a cell is significant when either adjusted p-value is at most q;
* the equivalence margin of the profile, with the SE of the mean paired difference;
* **pass** if the margin holds and the cell is not significant, **fail** if it is
  significant and the margin is exceeded, **warn** otherwise.

Noise-only pairs (runs of one side on the same connectivity with other noise seeds) give
the noise sd per cell; effects are reported in its units. The unpaired measurements (R,
permutation p) stay in the Dataset for reference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import xarray as xr

from repro.compare.comparison import CellData, judge
from repro.compare.outcomes import Verdict
from repro.compare.paired import max_t_test, noise_only_sd, paired_test
from repro.compare.pairing import Pairing
from repro.compare.profiles import Profile
from repro.compare.verdict import benjamini_hochberg, overall_verdict


def paired_power(k: int, alpha: float, effect_sd: float) -> float:
    """Power of the two-sided paired t-test with ``k`` pairs for a shift of ``effect_sd`` sd.

    ``effect_sd`` is the true mean difference in units of the sd of the paired differences.

    Examples
    --------
    >>> round(paired_power(10, 0.05 / 14, 2.0), 2)
    0.97
    """
    from scipy.stats import nct, t

    if k < 2:
        return math.nan
    df = k - 1
    critical = t.isf(alpha / 2, df)
    shift = effect_sd * math.sqrt(k)
    return float(nct.sf(critical, df, shift) + nct.cdf(-critical, df, shift))


def pair_matrices(cells: Mapping[tuple[str, str], CellData], ids: Sequence[str],
                  pairing: Pairing) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paired differences, baseline means per pair and noise-only differences per cell.

    Returns
    -------
    differences, baseline, noise : numpy.ndarray
        ``(k, m)``, ``(k, m)`` and ``(n_noise, m)`` for the ``m`` cells in ``cells`` order.
    """
    position = {run_id: i for i, run_id in enumerate(ids)}
    means = np.array([data.run_means for data in cells.values()]).T  # runs x cells
    base = np.array([means[[position[r] for r in b]].mean(axis=0) for _, b, _ in pairing.groups])
    cand = np.array([means[[position[r] for r in c]].mean(axis=0) for _, _, c in pairing.groups])
    noise = np.array([means[position[b]] - means[position[a]]
                      for _, a, b in pairing.noise_pairs]).reshape(-1, means.shape[1])
    return cand - base, base, noise


def judge_paired(cells: Mapping[tuple[str, str], CellData], n_baseline: int,
                 profile: Profile, baseline: Sequence[str], candidate: Sequence[str],
                 pairing: Pairing) -> xr.Dataset:
    """Verdict Dataset of the paired design (same layout as :func:`judge`, more variables).

    Extra variables: ``t_paired``, ``p_bh``, ``p_max_t``, ``noise_sd``, ``effect_noise_sd``;
    attributes ``design``, ``pairs``, ``pairing``, ``global_p``, ``global_max_t``,
    ``global_method``, ``global_cell``, ``power_note``.
    """
    # the unpaired measurements stay as reference columns; 999 label permutations suffice
    # there (they do not decide) and keep a paired comparison cheap
    reference = replace(profile, verdict=replace(
        profile.verdict, random_permutations=min(999, profile.verdict.random_permutations)))
    result = judge(cells, n_baseline, reference, baseline, candidate)
    result.attrs.update(profile_name=profile.name, profile_version=profile.version,
                        profile_sha256=profile.sha256)
    keys = list(cells)
    q = profile.verdict.fdr_q
    m = len(keys)
    d, base, noise = pair_matrices(cells, [*baseline, *candidate], pairing)
    k = d.shape[0]
    tests = [paired_test(d[:, j][np.isfinite(d[:, j])], q / m) for j in range(m)]
    p = np.array([t.p_value for t in tests])
    p_bh = benjamini_hochberg(p)
    global_test = max_t_test(d)
    noise_sd = noise_only_sd(noise) if noise.shape[0] else np.full(m, np.nan)
    index = {key: j for j, key in enumerate(keys)}
    shape = result["verdict"].shape
    new = {name: np.full(shape, np.nan) for name in (
        "t_paired", "p_value", "p_adjusted", "p_bh", "p_max_t", "difference",
        "standard_error", "margin", "noise_sd", "effect_noise_sd", "baseline_mean",
        "candidate_mean")}
    test = np.empty(shape, dtype=object)
    margin_ok = np.zeros(shape, dtype=bool)
    significant = np.zeros(shape, dtype=bool)
    verdict = np.empty(shape, dtype=object)
    for i, population in enumerate(result["population"].values.tolist()):
        for j, statistic in enumerate(result["statistic"].values.tolist()):
            c = index[(population, statistic)]
            cell = tests[c]
            se = cell.sd_difference / math.sqrt(k) if k > 1 else math.nan
            base_mean = float(np.nanmean(base[:, c]))
            width = profile.margins[statistic].width(base_mean, se)
            values = {"t_paired": cell.t, "p_value": cell.p_value, "p_bh": p_bh[c],
                      "p_max_t": global_test.adjusted[c], "difference": cell.mean_difference,
                      "standard_error": se, "margin": width, "noise_sd": noise_sd[c],
                      "effect_noise_sd": cell.mean_difference / noise_sd[c]
                      if noise_sd[c] > 0 else math.nan,
                      "baseline_mean": base_mean,
                      "candidate_mean": base_mean + cell.mean_difference}
            adjusted = np.nanmin([p_bh[c], global_test.adjusted[c], np.inf])
            values["p_adjusted"] = adjusted if math.isfinite(adjusted) else math.nan
            for name, value in values.items():
                new[name][i, j] = value
            test[i, j] = cell.test
            ok = bool(abs(cell.mean_difference) <= width) if math.isfinite(
                cell.mean_difference) else False
            margin_ok[i, j] = ok
            significant[i, j] = bool(adjusted <= q)
            if not math.isfinite(cell.mean_difference):
                verdict[i, j] = Verdict.WARN
            elif ok and not significant[i, j]:
                verdict[i, j] = Verdict.PASS
            elif significant[i, j] and not ok:
                verdict[i, j] = Verdict.FAIL
            else:
                verdict[i, j] = Verdict.WARN
    dims = ("population", "statistic")
    for name, values in new.items():
        result[name] = (dims, values)
    result["test"] = (dims, test.astype(str))
    result["margin_ok"] = (dims, margin_ok)
    result["significant"] = (dims, significant)
    result["verdict"] = (dims, verdict.astype(str))
    result.attrs["overall"] = str(overall_verdict(verdict.ravel().tolist()))
    worst = int(np.nanargmin(global_test.adjusted)) if np.isfinite(
        global_test.adjusted).any() else None
    result.attrs.update(
        design="paired", pairs=k, pairing=pairing.describe(),
        global_p=global_test.p_value, global_max_t=global_test.max_t,
        global_method=global_test.method,
        global_cell="/".join(keys[worst]) if worst is not None else "",
        low_confidence=int(k < 2))
    result.attrs["power_note"] = power_note(k, q / m)
    notes = [pairing.describe(), _test_note(tests, k, q, m), _global_note(result.attrs),
             result.attrs["power_note"]]
    if noise.shape[0] == 0:
        notes.append("no noise-only pairs (runs on the same connectivity with another noise "
                     "seed) on either side: effects cannot be given in noise-sd units; set "
                     "noise_seeds = 2 in the experiment to get them")
    result.attrs["notes"] = "\n".join(notes)
    return result


def power_note(k: int, alpha: float) -> str:
    """Power of the paired t-test at this k for shifts of 1.5, 2 and 3 sd of the differences."""
    powers = ", ".join(f"{effect:g} sd: {100 * paired_power(k, alpha, effect):.0f} %"
                       for effect in (1.5, 2.0, 3.0))
    return (f"power of the paired t-test with k = {k} pairs at alpha = {alpha:.3g} (q / cells) "
            f"for a mean shift of (sd of paired differences) {powers}")


def _test_note(tests: list, k: int, q: float, m: int) -> str:
    kinds = sorted({t.test for t in tests if t.test != "none"})
    if kinds == ["sign-flip"]:
        return (f"per-cell test: exact sign-flip test over 2^{k} sign patterns (smallest p "
                f"{2 / 2 ** k:.3g} <= q/m = {q / m:.3g})")
    return (f"per-cell test: paired t-test on run-level differences (k - 1 = {k - 1} df): an "
            f"exact sign-flip test cannot go below p = {2 / 2 ** k:.3g} with k = {k}, "
            f"above q/m = {q / m:.3g} for m = {m} cells")


def _global_note(attrs: Mapping) -> str:
    p = attrs["global_p"]
    if not math.isfinite(p):
        return "global max-|t| test: not enough pairs"
    return (f"global max-|t| test across cells: p = {p:.3g} (max |t| = "
            f"{attrs['global_max_t']:.2f} in {attrs['global_cell']}; null from "
            f"{attrs['global_method']}); per-cell Benjamini-Hochberg p-values are in p_bh")
