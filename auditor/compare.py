"""Re-audit: what changed between two runs over the same examples (matched by id).

`compare_results(a, b)` is pure over two loaded runs (`AuditResult`s); `format_comparison`
is the console text; the comparison's `table` has one row per suspect of either run (`compare --out`).
A suspect of run A is *resolved* when run B no longer has it (deleted) or no longer flags it (relabelled,
or the model no longer doubts it); it *remains* when B flags it too; B's other suspects are *new*.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

__all__ = ["class_noise", "compare_results", "comparison_summary", "format_comparison"]

STATUSES = ("resolved", "remains", "new")


def class_noise(joint, class_names) -> dict[str, float | None]:
    """The estimated share of wrong labels among the examples given each class, from cleanlab's joint
    P(given, true) (`metrics.noise_estimate`): 1 - P(true = i | given = i). None where it has no estimate."""
    if joint is None:
        return {str(c): None for c in class_names}
    joint = np.asarray(joint, dtype=float)
    given = joint.sum(axis=1)
    return {str(c): (float(1 - joint[i, i] / given[i]) if given[i] > 0 else None) for i, c in enumerate(class_names)}


def _joint(result):
    """The joint the run recorded in metrics.json; estimated here for run folders older than that."""
    from .metrics import noise_estimate

    noise = result.metrics.get("noise") or noise_estimate(result.labels, result.pred_probs, result.class_names)
    return noise.get("joint")


def compare_results(a, b) -> dict:
    """Accuracy, flagged share and per-class estimated noise of two runs, and the suspects' fate by id."""
    ids_a, ids_b = _ids(a), _ids(b)
    in_b = pd.Series(np.arange(len(ids_b)), index=ids_b)
    flagged_a = a.scores["is_label_issue"].astype(bool).to_numpy()
    flagged_b = b.scores["is_label_issue"].astype(bool).to_numpy()
    rows = [_fate(a, b, i, in_b.get(ids_a[i])) for i in np.flatnonzero(flagged_a)]
    suspects_a = set(ids_a[flagged_a])
    rows += [_new(b, j) for j in np.flatnonzero(flagged_b) if ids_b[j] not in suspects_a]
    table = pd.DataFrame(rows, columns=["id", "status", "how", "given_label_a", "given_label_b",
                                        "suggested_label_b", "text"])
    noise_a, noise_b = (class_noise(_joint(r), r.class_names) for r in (a, b))
    classes = list(dict.fromkeys([*map(str, a.class_names), *map(str, b.class_names)]))
    return {
        "rows": (len(ids_a), len(ids_b)),
        "shared_ids": int(np.isin(ids_b, ids_a).sum()),
        "accuracy": (a.metrics.get("accuracy"), b.metrics.get("accuracy")),
        "flagged": (int(flagged_a.sum()), int(flagged_b.sum())),
        "noise": [{"class": c, "a": noise_a.get(c), "b": noise_b.get(c)} for c in classes],
        "counts": {s: int((table["status"] == s).sum()) for s in STATUSES},
        "how": {k: int(v) for k, v in table[table["status"] == "resolved"]["how"].value_counts().items()},
        "table": table,
    }


def _ids(result) -> np.ndarray:
    return result.scores["id"].astype(str).to_numpy(dtype=object)


def _fate(a, b, i: int, j) -> dict:
    row = {"id": a.scores["id"].iat[i], "given_label_a": str(a.scores["given_label"].iat[i]),
           "text": a.scores["text"].iat[i], "given_label_b": "", "suggested_label_b": ""}
    if j is None:
        return {**row, "status": "resolved", "how": "deleted"}
    given_b = str(b.scores["given_label"].iat[j])
    row.update(given_label_b=given_b, suggested_label_b=str(b.scores["suggested_label"].iat[j]))
    relabelled = given_b != row["given_label_a"]
    if bool(b.scores["is_label_issue"].iat[j]):
        return {**row, "status": "remains", "how": "relabelled, still flagged" if relabelled else "still flagged"}
    return {**row, "status": "resolved", "how": "relabelled" if relabelled else "no longer flagged"}


def _new(b, j: int) -> dict:
    return {"id": b.scores["id"].iat[j], "status": "new", "how": "flagged in B only", "given_label_a": "",
            "given_label_b": str(b.scores["given_label"].iat[j]),
            "suggested_label_b": str(b.scores["suggested_label"].iat[j]), "text": b.scores["text"].iat[j]}


def format_comparison(comparison: dict, name_a: str = "A", name_b: str = "B") -> str:
    c = comparison
    (rows_a, rows_b), (acc_a, acc_b), (flag_a, flag_b) = c["rows"], c["accuracy"], c["flagged"]
    lines = [f"A: {name_a} ({rows_a:,} rows)  B: {name_b} ({rows_b:,} rows); {c['shared_ids']:,} ids in both"]
    if c["shared_ids"] < 0.5 * min(rows_a, rows_b):
        lines.append("Warning: few ids match; audit the cleaned data with --id-column id so rows keep their ids.")
    lines.append(f"Out-of-sample accuracy {acc_a:.3f} -> {acc_b:.3f} ({acc_b - acc_a:+.3f})")
    lines.append(f"Flagged {flag_a:,} ({flag_a / max(rows_a, 1):.1%}) -> {flag_b:,} ({flag_b / max(rows_b, 1):.1%})")
    lines.append("Estimated share of wrong labels per given class (cleanlab):")
    width = max([5, *(len(n["class"]) for n in c["noise"])])
    for n in c["noise"]:
        change = f"{(n['b'] - n['a']) * 100:+.1f} pts" if n["a"] is not None and n["b"] is not None else ""
        lines.append(f"  {n['class']:<{width}}  {_pct(n['a']):>6} -> {_pct(n['b']):>6}  {change}")
    how = ", ".join(f"{v:,} {k}" for k, v in c["how"].items())
    counts = c["counts"]
    lines.append(f"Suspects of A: {counts['resolved']:,} resolved" + (f" ({how})" if how else "")
                 + f", {counts['remains']:,} remain; {counts['new']:,} new in B")
    return "\n".join(lines)


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def comparison_summary(comparison: dict, previous) -> dict:
    """The comparison without its table, as plain JSON (run.json's "previous", the report's section)."""
    summary = {k: v for k, v in comparison.items() if k != "table"}
    summary.update({k: list(v) for k, v in summary.items() if isinstance(v, tuple)})
    return {**summary, "path": str(previous)}
