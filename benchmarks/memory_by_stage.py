"""Peak memory of `auditor run` per progress stage (issue 13).

    PYTHONPATH=. python benchmarks/memory_by_stage.py --noise classcond10 --seed 1 /tmp/mem20news
    PYTHONPATH=. python benchmarks/memory_by_stage.py --data posts100000.csv.gz /tmp/mem100k

With --noise, plants noise in 20 Newsgroups as `auditor bench` does and writes the noisy CSV to FOLDER;
with --data, audits that file as it is (for example the synthetic posts of `benchmarks/scale_docs.py`).
Runs `python -m auditor run` on it and samples the process's resident memory from /proc every 0.1 s,
printing the highest value seen while each progress line was the latest.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def noisy_20news(setting: str, seed: int, work: Path) -> Path:
    from auditor.benchmark.runner import _data_tag, _plant, _Sources, _write_noisy
    from auditor.config import DataConfig, TrainConfig
    from auditor.data import load_data

    data = load_data(DataConfig(source="../shared/data/20news/train.csv.gz"), min_per_class=5)
    sources = _Sources(data.texts, 20, _data_tag(data), 5, TrainConfig(), "reports/.bench-cache", print)
    noisy, _ = _plant(data, setting, seed, sources)
    return _write_noisy(noisy, work)


def peaks_by_stage(args: list[str]) -> dict[str, float]:
    proc = subprocess.Popen([sys.executable, "-m", "auditor", "run", *args], stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    stage, peaks, started = ["start"], {}, time.time()

    def sample():
        while proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/status") as status:
                    rss = next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS"))
            except (FileNotFoundError, StopIteration):
                break
            peaks[stage[0]] = max(peaks.get(stage[0], 0), rss)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    for line in proc.stderr:
        stage[0] = f"{time.time() - started:7.1f}s {line.strip()[:100]}"
    sampler.join()
    proc.wait()
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--data", type=Path, help="audit this file as it is")
    parser.add_argument("--noise", default="classcond10", help="planted noise in 20news when --data is not given")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    data = args.data or noisy_20news(args.noise, args.seed, args.folder)
    run_args = ["--data", str(data), "--out", str(args.folder / "run"), "--overwrite", "--seed", str(args.seed)]
    if args.data is None:
        run_args += ["--id-column", "id"]
    for stage, mb in peaks_by_stage(run_args).items():
        print(f"{mb:8.0f} MB  {stage}")


if __name__ == "__main__":
    main()
