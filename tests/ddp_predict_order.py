"""Predictions of an untrained classifier for a shuffled, odd-sized set of rows, saved by rank 0.

Run once plainly and once under `torch.distributed.run --nproc_per_node 2`: the two files must agree
row for row, which shows that `FinetuneBackend.predict` returns every row once, in the order asked,
when the Trainer shards prediction batches over processes and pads the last share.
Usage: python tests/ddp_predict_order.py DATA.txt OUT.npz
"""

import sys

import numpy as np
import transformers

from auditor import distributed
from auditor.backends.finetune import FinetuneBackend
from auditor.config import DataConfig, TrainConfig
from auditor.data import load_data


def main(data_path: str, out: str) -> None:
    data = load_data(DataConfig(source=data_path))
    # Per-process prediction batches of 4 over 37 rows: 10 batches, the last one short and padded under DDP.
    cfg = TrainConfig(batch_size=2, epochs=1.0, learning_rate=1e-4)
    backend = FinetuneBackend(len(data.class_names), seed=0, cfg=cfg)
    backend.prepare(data.texts)
    rows = np.random.default_rng(0).permutation(len(data))[:37]
    transformers.set_seed(0)  # the same classifier head in every process and in the plain run
    trainer = backend._trainer(np.arange(len(data)), data.labels)
    probs = backend.predict(trainer, rows, data.labels)
    if distributed.is_main_process():
        np.savez(out, probs=probs, world_size=trainer.args.world_size)
    distributed.finish()


if __name__ == "__main__":
    main(*sys.argv[1:])
