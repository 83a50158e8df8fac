"""Peak memory of `auditor run` per progress stage, on 20news with planted noise (issue 13).

    PYTHONPATH=. python benchmarks/memory_by_stage.py classcond10 1 /tmp/mem20news

Plants noise as `auditor bench` does (NOISE SEED), writes the noisy CSV to FOLDER, runs `python -m auditor run`
on it and samples the process's resident memory from /proc every 0.1 s, printing the highest value seen while
each progress line was the latest.
"""
import subprocess, sys, time, threading, os
from pathlib import Path
sys.path.insert(0, os.getcwd())
from auditor.benchmark.runner import _data_tag, _plant, _Sources, _write_noisy
from auditor.config import DataConfig, TrainConfig
from auditor.data import load_data
setting, seed = sys.argv[1], int(sys.argv[2]); work = Path(sys.argv[3]); work.mkdir(exist_ok=True)
data = load_data(DataConfig(source="../shared/data/20news/train.csv.gz"), min_per_class=5)
sources = _Sources(data.texts, 20, _data_tag(data), 5, TrainConfig(), "reports/.bench-cache", print)
noisy, _ = _plant(data, setting, seed, sources)
csv = _write_noisy(noisy, work)
proc = subprocess.Popen([sys.executable, "-m", "auditor", "run", "--data", str(csv), "--id-column", "id", "--out", str(work / "run"), "--overwrite", "--seed", str(seed)],
                        stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
stage = ["start"]; peaks = {}; t0 = time.time()
def sample():
    while proc.poll() is None:
        try:
            for line in open(f"/proc/{proc.pid}/status"):
                if line.startswith("VmRSS"):
                    mb = int(line.split()[1]) / 1024
                    peaks[stage[0]] = max(peaks.get(stage[0], 0), mb)
        except FileNotFoundError:
            break
        time.sleep(0.1)
th = threading.Thread(target=sample); th.start()
for line in proc.stderr:
    stage[0] = f"{time.time()-t0:7.1f}s {line.strip()[:100]}"
th.join(); proc.wait()
for k, v in peaks.items():
    print(f"{v:8.0f} MB  {k}")
