"""Plots for the report, the console commands and the signals' report sections. Each takes an optional
`ax` and returns it. They know matplotlib, not the package: callers pass what a plot needs.

Figures are plain `matplotlib.figure.Figure` objects (rendered by Agg / the SVG backend), never pyplot
figures, so nothing here opens a window or changes the caller's pyplot backend.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "plot_confusion_matrix",
    "plot_noise_matrix",
    "plot_class_distribution",
    "plot_per_class",
    "plot_class_probabilities",
    "plot_cartography",
    "new_axes",
    "figure_to_svg",
    "figure_to_png_base64",
    "figure_to_data_uri",
]

# Above this many classes the cell values are unreadable; the colour still shows the pattern.
_MAX_ANNOTATED_CLASSES = 25


def new_axes(figsize=(6.0, 6.0)):
    """A fresh Axes on a Figure that no pyplot state knows about."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig.subplots()


def _square_size(n_classes: int) -> tuple[float, float]:
    side = min(14.0, max(5.0, 0.55 * n_classes + 2.5))
    return side, side


def plot_confusion_matrix(matrix, class_names: Sequence[str], ax=None, *, title="Normalized confusion matrix",
                          xlabel="Predicted label", ylabel="True label"):
    """The book's plot: a row-normalised confusion matrix in blues, cells labelled with 2 decimals."""
    from sklearn.metrics import ConfusionMatrixDisplay

    matrix = np.asarray(matrix, dtype=float)
    names = [_plain(c) for c in class_names]
    ax = ax if ax is not None else new_axes(_square_size(len(names)))
    display = ConfusionMatrixDisplay(confusion_matrix=matrix, display_labels=names)
    display.plot(cmap="Blues", values_format=".2f", ax=ax, colorbar=False,
                 include_values=len(names) <= _MAX_ANNOTATED_CLASSES,
                 xticks_rotation=45 if max(map(len, names), default=0) > 6 or len(names) > 8 else "horizontal")
    if len(names) > 12 and display.text_ is not None:
        for text in display.text_.ravel():
            text.set_fontsize(7)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def plot_noise_matrix(joint, class_names: Sequence[str], ax=None):
    """cleanlab's joint P(given, true), shown per given label: which given label is really which."""
    joint = np.asarray(joint, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        conditional = np.nan_to_num(joint / joint.sum(axis=1, keepdims=True))
    return plot_confusion_matrix(conditional, class_names, ax, title="Estimated true label per given label",
                                 xlabel="Estimated true label (cleanlab)", ylabel="Given label")


def plot_class_distribution(given_counts: Mapping[str, int], ax=None, *, estimated_true: Mapping[str, float] | None = None,
                            issues: Mapping[str, int] | None = None):
    """Horizontal bars of examples per class (the book's 'Frequency of Classes'), optionally with
    cleanlab's estimate of the true-label counts and the suspected issues per class."""
    names = list(given_counts)
    y = np.arange(len(names))
    ax = ax if ax is not None else new_axes((7.0, max(2.5, 0.42 * len(names) + 1.2)))
    height = 0.4 if estimated_true is not None else 0.8
    ax.barh(y, [given_counts[n] for n in names], height=height, color="C0", label="given labels")
    if issues is not None:
        ax.barh(y, [issues.get(n, 0) for n in names], height=height, color="C3", label="suspected issues")
    if estimated_true is not None:
        ax.barh(y + height, [estimated_true.get(n, 0) for n in names], height=height, color="C2",
                label="estimated true labels (cleanlab)")
    ax.set_yticks(y + (height / 2 if estimated_true is not None else 0), labels=[_plain(n) for n in names])
    ax.invert_yaxis()
    ax.set_xlabel("Examples")
    ax.set_title("Frequency of classes")
    _legend_below(ax)
    return ax


def plot_per_class(per_class: Mapping[str, Mapping[str, float]], ax=None):
    """Grouped horizontal bars of precision, recall and F1 per class."""
    names = list(per_class)
    y = np.arange(len(names))
    ax = ax if ax is not None else new_axes((7.0, max(2.5, 0.55 * len(names) + 1.2)))
    height = 0.27
    for offset, (metric, color) in enumerate((("precision", "C0"), ("recall", "C1"), ("f1", "C2"))):
        ax.barh(y + offset * height, [per_class[n][metric] for n in names], height=height, color=color, label=metric)
    ax.set_yticks(y + height, labels=[_plain(n) for n in names])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("Score (out-of-sample)")
    ax.set_title("Per-class precision, recall and F1")
    _legend_below(ax)
    return ax


def plot_class_probabilities(probabilities: Mapping[str, float], ax=None, *, title: str | None = None):
    """The book's check on a custom text: each class's predicted probability, as horizontal bars."""
    names = list(probabilities)
    values = 100 * np.asarray([probabilities[n] for n in names], dtype=float)
    ax = ax if ax is not None else new_axes((6.0, max(2.0, 0.4 * len(names) + 1.0)))
    y = np.arange(len(names))
    ax.barh(y, values, color="C0")
    ax.set_yticks(y, labels=[_plain(n) for n in names])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("Class probability (%)")
    if title:
        ax.set_title(_shorten(title, 70), fontsize="medium")
    return ax


def plot_cartography(confidence, variability, correctness, ax=None, *, ambiguous: float, hard: float):
    """Dataset cartography: mean confidence in the given label against its variability, coloured by
    how often the model predicted the given label. Rows without training dynamics (NaN) are left out;
    dashed lines mark the region thresholds (`ambiguous` variability, `hard` confidence: those of
    `auditor.scoring.dynamics`, which passes them)."""
    ax = ax if ax is not None else new_axes((6.0, 5.0))
    confidence, variability, correctness = (np.asarray(a, dtype=float) for a in (confidence, variability, correctness))
    seen = ~(np.isnan(confidence) | np.isnan(variability) | np.isnan(correctness))
    points = ax.scatter(
        variability[seen], confidence[seen], c=correctness[seen], cmap="viridis", vmin=0, vmax=1, s=6, alpha=0.7,
        linewidths=0,
    )
    ax.figure.colorbar(points, ax=ax, label="correctness")
    ax.axvline(ambiguous, color="grey", linestyle="--", linewidth=0.8)
    ax.axhline(hard, color="grey", linestyle="--", linewidth=0.8)
    ax.text(0.01, 0.99, "easy", transform=ax.transAxes, va="top", fontsize=9)
    ax.text(0.01, 0.01, "hard-to-learn", transform=ax.transAxes, va="bottom", fontsize=9)
    ax.text(0.99, 0.5, "ambiguous", transform=ax.transAxes, ha="right", fontsize=9)
    ax.set(xlabel="variability", ylabel="confidence (mean p(given label))", ylim=(-0.02, 1.02),
           title=f"Dataset cartography ({int(seen.sum())} examples)")
    return ax


def _legend_below(ax) -> None:
    # Below the axes, so it never hides a bar.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=3, fontsize="small", frameon=False)


def _shorten(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return _plain(f'"{text}"' if len(text) <= width - 2 else f'"{text[: width - 3]}…"')


def _plain(text) -> str:
    # Matplotlib reads $...$ as mathtext (and fails on bad maths); a dataset string is never maths.
    return str(text).replace("$", r"\$")


def figure_to_svg(figure) -> str:
    """SVG markup with text drawn as paths (no font needed to view it) and no date, so output is stable."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "auditor"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def figure_to_png_base64(figure, dpi: int = 100) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def figure_to_data_uri(figure, fmt: str = "svg") -> str:
    """A `data:` URI for an <img>; an SVG inside <img> cannot run scripts or clash with the page's ids."""
    if fmt == "svg":
        payload = base64.b64encode(figure_to_svg(figure).encode("utf-8")).decode("ascii")
        return f"data:image/svg+xml;base64,{payload}"
    if fmt == "png":
        return f"data:image/png;base64,{figure_to_png_base64(figure)}"
    raise ValueError(f"The 'fmt' parameter must be 'svg' or 'png'. Got {fmt!r} instead.")
