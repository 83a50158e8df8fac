"""Interrupted runs: finished folds are cached in the run folder, so `--resume` continues where a run stopped.

While models train, `OUT/` holds `INCOMPLETE` (a line saying how to continue), `run.json` with
`"complete": false`, and `OUT/.partial/`: `state.json` (the run's fingerprint) and one `.npz` per finished
fold and backend. When the run completes, the finished run folder replaces all of it in one rename.
With `--overwrite` of a finished run the old files stay readable until the new run replaces them;
only `OUT/.partial/` is added meanwhile.
"""

from __future__ import annotations

import shlex
import shutil
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .errors import RunDirError
from .safeio import folder_into_place, safe_write
from .rundir import RUN_MARKER, RUN_SCHEMA, check_out_dir, is_run_folder, read_json, write_json

__all__ = ["FoldCache", "resumable_run", "MARKER", "PARTIAL", "incomplete_reason"]

MARKER = "INCOMPLETE"
PARTIAL = ".partial"


class FoldCache:
    """Per-fold arrays under `folder`, written atomically; each file carries the run's fingerprint."""

    def __init__(self, folder: Path, fingerprint: str):
        self.folder, self.fingerprint = Path(folder), fingerprint
        self.hits: list[str] = []

    def _path(self, backend: str, key: str) -> Path:
        return self.folder / f"{backend}-{key}.npz"

    def get(self, backend: str, key: str) -> dict[str, np.ndarray] | None:
        path = self._path(backend, key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                if str(stored["fingerprint"]) != self.fingerprint:
                    return None
                arrays = {k: stored[k] for k in stored.files if k != "fingerprint"}
        except Exception:  # unreadable (a disk that filled up): compute the fold again
            return None
        self.hits.append(f"{backend}-{key}")
        return arrays

    def put(self, backend: str, key: str, **arrays: np.ndarray) -> None:
        # safe_write: a kill mid-write leaves no half file behind; a stale fold file is ours to replace.
        path = self._path(backend, key)
        safe_write({path: lambda handle: np.savez(handle, fingerprint=np.array(self.fingerprint), **arrays)},
                   own=[path], option="")

    def finished(self) -> list[str]:
        """Names of the cached fold results (not the prepared arrays)."""
        return sorted(p.stem for p in self.folder.glob("*-fold-*.npz"))


@contextmanager
def resumable_run(out: Path, state: dict, *, overwrite: bool = False, resume: bool = False, total_folds: int = 0):
    """Yield the FoldCache of run folder `out`; keep it on failure only when it holds finished folds.

    `state` must hold `fingerprint` (one string) and `parts` (named pieces of it, to say what changed
    when a resume is refused); `command` and `config` are recorded for the person who finds the folder.
    """
    out = Path(out)
    created = _open(out, state, overwrite=overwrite, resume=resume)
    cache = FoldCache(out / PARTIAL, state["fingerprint"])
    try:
        yield cache
    except BaseException as exc:
        note = _after_failure(out, cache, created, total_folds, state.get("command", ""))
        if isinstance(exc, KeyboardInterrupt):
            raise type(exc)(note) from None
        raise


def incomplete_reason(folder: Path) -> str | None:
    """Why `folder` is not a finished run (None if it is one, or if it is no run folder at all)."""
    folder = Path(folder)
    marker = folder / MARKER
    if marker.is_file():
        return marker.read_text(encoding="utf-8", errors="replace").strip()[:300] or "the run did not finish"
    run_file = folder / "run.json"
    if run_file.is_file():
        try:
            run = read_json(run_file)
        except (ValueError, OSError):
            return "run.json cannot be read"
        if not isinstance(run, dict):
            return f"run.json holds a JSON {type(run).__name__}, not the tool's record"
        complete = run.get("complete", True)
        if complete is False:
            return "run.json says the run did not finish"
    return None


def _open(out: Path, state: dict, *, overwrite: bool, resume: bool) -> str | None:
    """Set up `out` for a run; "new" when this call created the folder, "empty" when it took an empty one."""
    partial = out / PARTIAL
    if resume:
        _check_resumable(out, state)
        _clear_temporaries(partial)
        return None
    if out.exists() and not overwrite and is_run_folder(out) and incomplete_reason(out):
        raise RunDirError(
            f"--out {out}: holds an interrupted run; pass --resume to continue it or --overwrite to start again."
        )
    check_out_dir(out, overwrite)  # every refusal happens here, before any training
    was_empty = out.is_dir() and not any(out.iterdir())
    if was_empty:
        out.rmdir()  # an empty folder is taken over as a new one
    elif out.exists() and incomplete_reason(out):
        shutil.rmtree(out)  # an interrupted run the user asked to start again (only the tool's files: checked)
    if out.exists():
        shutil.rmtree(partial, ignore_errors=True)
        _write_state(out, state, mark=False)
        return None
    _write_state(out, state, mark=True)
    return "empty" if was_empty else "new"


def _write_state(out: Path, state: dict, mark: bool) -> None:
    """Create `out/.partial/state.json` (and, for a new folder, the marker and run.json) in one rename."""
    parent = out.parent if mark else out
    parent.mkdir(parents=True, exist_ok=True)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with folder_into_place(out if mark else out / PARTIAL) as tmp:
        partial = tmp / PARTIAL if mark else tmp
        partial.mkdir(exist_ok=True)
        write_json(partial / "state.json", {**state, "started": started})
        if mark:
            hint = _resume_hint(state.get("command", ""), out)
            (tmp / MARKER).write_text(f"interrupted run, not a finished one: {hint}\n", encoding="utf-8")
            write_json(tmp / "run.json", {RUN_MARKER: RUN_SCHEMA, "complete": False, "started": started, "resume_with": hint,
                                          "command": state.get("command", ""), "config": state.get("config")})


def _check_resumable(out: Path, state: dict) -> None:
    saved_file = out / PARTIAL / "state.json"
    if not saved_file.is_file():
        what = "does not exist" if not out.exists() else f"holds no interrupted run (no {PARTIAL}/state.json)"
        raise RunDirError(f"--resume: --out {out} {what}; run without --resume to start a new audit.")
    saved = read_json(saved_file)
    if saved.get("fingerprint") == state["fingerprint"]:
        return
    old, new = saved.get("parts", {}), state.get("parts", {})
    changed = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)] or ["fingerprint"]
    raise RunDirError(
        f"--resume: {out} was started with different {', '.join(changed)} "
        f"(fingerprint {saved.get('fingerprint', '?')[:12]}, now {state['fingerprint'][:12]}); "
        "repeat the original command with --resume, or pass --overwrite instead to start again."
    )


def _clear_temporaries(partial: Path) -> None:
    for pattern in (".tmp-*", ".*.tmp"):  # safe_write's temporaries (and those of older versions)
        for leftover in partial.glob(pattern):
            leftover.unlink(missing_ok=True)


def _after_failure(out: Path, cache: FoldCache, created: str | None, total: int, command: str) -> str:
    """Keep finished work, remove what this run made if it finished nothing; say what is left."""
    if not cache.folder.is_dir() and not incomplete_reason(out) and (out / "run.json").is_file():
        return f"{out} holds the finished run."  # interrupted after the final rename
    try:
        kept = len(cache.finished())
        has_work = any(cache.folder.glob("*.npz"))
        if not has_work and created:
            shutil.rmtree(out, ignore_errors=True)
            if created == "empty":
                out.mkdir()
                return f"{out} was left empty, as it was."
            return "no run folder was written."
        if not has_work and not incomplete_reason(out):
            shutil.rmtree(cache.folder, ignore_errors=True)
            return f"{out} was left as it was."
    except OSError:
        return f"{out} may hold a partial run."
    done = f"{kept} of {total} fold fits" if total else f"{kept} fold fits"
    return f"{out} keeps {done} finished; {_resume_hint(command, out)}"


def _resume_hint(command: str, out: Path) -> str:
    if not command:
        return f"run the same audit again with resume=True and out={str(out)!r}"
    if " --out" not in command:  # the default folder is new each time: name this one
        command += f" --out {shlex.quote(str(out))}"
    return f"continue it with: {command}" + ("" if " --resume" in command else " --resume")
