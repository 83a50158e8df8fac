"""CLI commands that work on a finished run folder: report, export, apply, and predict with a saved model."""

from __future__ import annotations

from pathlib import Path

from .options import int_type

__all__ = ["add_commands"]


def add_commands(sub) -> None:
    """Register the commands on the CLI's subparsers."""
    from ..annotate.formats import FORMAT_NAMES
    from ..report.html import DEFAULT_MAX_ROWS

    p = sub.add_parser("report", help="re-render RUN_DIR/report.html from the saved scores (no retraining)")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--out", help="HTML file to write (default: RUN_DIR/report.html)")
    p.add_argument("--max-rows", type=int_type("max-rows"), default=DEFAULT_MAX_ROWS,
                   help=f"rows embedded per table (default {DEFAULT_MAX_ROWS})")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file that is not a report")
    p.add_argument("--quiet", action="store_true", help="only errors and the final line")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("export", help="write the suspects for annotators: suspects.csv, or a Label Studio or "
                       "Argilla import")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--top", type=int_type("top"),
                   help="the N most suspect rows, flagged or not (default: every flagged row)")
    p.add_argument("--format", default="csv", choices=FORMAT_NAMES, dest="fmt",
                   help="csv: suspects.csv for a spreadsheet; label-studio: tasks JSON with the suggestion as a "
                        "pre-annotation, and the labelling config XML beside it; argilla: records as the Argilla "
                        "SDK writes them, and a script that creates the dataset (default: csv)")
    p.add_argument("--out", help="file to write (default: RUN_DIR/suspects.csv, RUN_DIR/label_studio_tasks.json "
                   "or RUN_DIR/argilla_records.json)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a suspects.csv that holds annotations, or another existing file")
    p.add_argument("--quiet", action="store_true", help="only errors and the final lines")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("apply", help="apply annotators' corrections: write cleaned data and changes.csv")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("corrections", metavar="CORRECTIONS",
                   help="suspects.csv with corrected_label filled in (blank = keep, DELETE = drop), or Label "
                        "Studio's JSON / JSON-MIN export, or Argilla's records JSON")
    p.add_argument("--format", choices=FORMAT_NAMES, dest="fmt",
                   help="the file's format (default: detected from its content)")
    p.add_argument("--out", help="folder for cleaned.<ext> and changes.csv (default: RUN_DIR)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing cleaned file and changes.csv")
    p.add_argument("--quiet", action="store_true", help="only errors and the final lines")
    p.set_defaults(func=_cmd_apply)

    p = sub.add_parser("compare", help="what changed between two runs: accuracy, estimated noise per class, "
                       "and which suspects were resolved, remain or are new (matched by id)")
    p.add_argument("run_a", metavar="RUN_A", help="the earlier run")
    p.add_argument("run_b", metavar="RUN_B", help="the later run (e.g. an audit of RUN_A's cleaned data)")
    p.add_argument("--out", help="also write one row per suspect of either run, with its status, to this CSV")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("predict", help="class probabilities for new texts from a saved model")
    p.add_argument("texts", metavar="TEXT", nargs="+")
    p.add_argument("--model", required=True,
                   help="a run folder saved with --save-model, a model folder, or a Hub id")
    p.add_argument("--plot", help="write a bar plot of the probabilities to this image file (e.g. probs.png)")
    p.add_argument("--out", help="also write one row per text to this .csv, .tsv or .jsonl file: the predicted "
                   "label (a multi-label model: the set at 0.5, joined as its training data joined sets, a list "
                   "in JSONL) and every label's probability")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=_cmd_predict)


def _cmd_report(args) -> int:
    from ..errors import OptionError
    from ..annotate.export import run_inputs, scores_with_neighbours
    from ..result import load_run
    from ..report.html import write_report
    from ..scoring.neighbours import evidence_rows

    if args.max_rows < 1:
        raise OptionError(f"The 'max-rows' option must be an int >= 1. Got {args.max_rows} instead.")
    out = Path(args.out) if args.out else Path(args.run_dir) / "report.html"
    result = load_run(args.run_dir)
    if result.metrics.get("task") != "multi-label":  # the suspects table's rows carry their neighbours
        scores = result.scores
        result.scores = scores_with_neighbours(
            result, evidence_rows(scores["rank"], scores["is_label_issue"], args.max_rows, budget_cells=0))
    write_report(result, out, max_rows=args.max_rows, overwrite=args.overwrite,
                 inputs=run_inputs(args.run_dir, result))
    print(f"Wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def _cmd_export(args) -> int:
    from ..annotate.export import export_suspects
    from ..annotate.formats import export_run, get_format

    if args.fmt == "csv":
        path, rows = export_suspects(args.run_dir, top=args.top, out=args.out, overwrite=args.overwrite)
        print(f"Wrote {path} ({rows:,} rows, most suspect first)")
        return 0
    paths, rows = export_run(args.run_dir, args.fmt, top=args.top, out=args.out, overwrite=args.overwrite)
    print(f"Wrote {paths[0]} ({rows:,} rows, most suspect first) and {', '.join(map(str, paths[1:]))}")
    print(get_format(args.fmt).NEXT_STEPS.format(data=paths[0], config=paths[1], run_dir=args.run_dir))
    return 0


def _cmd_apply(args) -> int:
    from ..annotate.apply import apply_corrections

    done = apply_corrections(args.run_dir, args.corrections, out=args.out, overwrite=args.overwrite, fmt=args.fmt)
    print(f"Applied {args.corrections}: {done['relabelled']:,} relabelled, {done['deleted']:,} deleted, "
          f"{done['kept']:,} kept; {done['notes']:,} note(s) in changes.csv; "
          f"{done['rows']:,} of {done['input_rows']:,} rows in the cleaned copy.")
    print(f"Wrote {done['cleaned']} and {done['changes']}")
    if done.get("id_note"):  # a file without column names (or room) for the ids
        print(done["id_note"])
    elif done["id_column"]:
        print(f"Ids are in column {done['id_column']!r}: re-audit with --id-column {done['id_column']} to keep them.")
    return 0


def _cmd_compare(args) -> int:
    from ..compare import compare_results, format_comparison
    from ..errors import OptionError
    from ..result import load_run

    if args.out and not args.out.lower().endswith(".csv"):
        raise OptionError(f"The 'out' option must name a .csv file. Got {args.out!r} instead.")
    comparison = compare_results(load_run(args.run_a), load_run(args.run_b))
    print(format_comparison(comparison, args.run_a, args.run_b))
    if args.out:
        from ..runfiles import write_csv

        runs = [Path(r) / name for r in (args.run_a, args.run_b) for name in ("scores.csv", "scores.parquet",
                                                                             "suspects.csv", "run.json")]
        write_csv(comparison["table"], Path(args.out), inputs=runs)
        print(f"Wrote {args.out} ({len(comparison['table']):,} suspects with their status)")
    return 0


def _cmd_predict(args) -> int:
    from ..predict import (check_output_path, check_plot_path, format_predictions, plot_predictions, predict,
                           write_predictions)

    if args.plot:
        check_plot_path(args.plot)
    if args.out:
        check_output_path(args.out, args.overwrite)
    found = predict(args.texts, args.model)
    print(format_predictions(args.texts, found.probabilities, found.predicted() if found.multi_label else None))
    if args.plot:
        print(f"Wrote {plot_predictions(args.texts, found.probabilities, args.plot)}")
    if args.out:
        print(f"Wrote {write_predictions(found, args.out, args.overwrite)} ({len(args.texts)} rows)")
    return 0
