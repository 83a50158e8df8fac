"""Plots of the extra signals. Each takes an `ax` (a new one if None) and returns it."""

from __future__ import annotations

import numpy as np

from ..scoring.dynamics import AMBIGUOUS_VARIABILITY, HARD_CONFIDENCE

__all__ = ["plot_cartography"]


def plot_cartography(confidence, variability, correctness, ax=None):
    """Dataset cartography: mean confidence in the given label against its variability, coloured by
    how often the model predicted the given label. Rows without training dynamics (NaN) are left out;
    dashed lines mark the region thresholds of `auditor.scoring.dynamics`."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    confidence, variability, correctness = (np.asarray(a, dtype=float) for a in (confidence, variability, correctness))
    seen = ~(np.isnan(confidence) | np.isnan(variability) | np.isnan(correctness))
    points = ax.scatter(
        variability[seen], confidence[seen], c=correctness[seen], cmap="viridis", vmin=0, vmax=1, s=6, alpha=0.7,
        linewidths=0,
    )
    ax.figure.colorbar(points, ax=ax, label="correctness")
    ax.axvline(AMBIGUOUS_VARIABILITY, color="grey", linestyle="--", linewidth=0.8)
    ax.axhline(HARD_CONFIDENCE, color="grey", linestyle="--", linewidth=0.8)
    ax.text(0.01, 0.99, "easy", transform=ax.transAxes, va="top", fontsize=9)
    ax.text(0.01, 0.01, "hard-to-learn", transform=ax.transAxes, va="bottom", fontsize=9)
    ax.text(0.99, 0.5, "ambiguous", transform=ax.transAxes, ha="right", fontsize=9)
    ax.set(xlabel="variability", ylabel="confidence (mean p(given label))", ylim=(-0.02, 1.02),
           title=f"Dataset cartography ({int(seen.sum())} examples)")
    return ax
