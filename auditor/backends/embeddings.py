"""Frozen sentence embeddings (computed once, in batches) with logistic regression per fold."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from .tfidf import LinearBackend


def encode(
    model_name: str, texts, batch_size: int = 64, show_progress: bool = False, chunk: int = 65_536
) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    from ..device import device
    from ..errors import load_error

    try:
        model = SentenceTransformer(model_name, device=device())
    except Exception as exc:  # many types: offline Hub, missing files, bad config
        raise load_error(f"--model {model_name!r}: cannot load it as a sentence encoder", exc) from None
    # encode() tokenises one batch at a time, but it keeps every row's vector as a separate tensor until
    # the end: encoding in chunks into one preallocated array bounds that overhead to a chunk.
    texts, out = list(texts), None
    for start in range(0, len(texts), chunk):
        vectors = model.encode(
            texts[start : start + chunk],
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        if out is None:
            out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
        out[start : start + len(vectors)] = vectors
    return out


class EmbeddingsBackend(LinearBackend):
    uses_text_features = False
    runs_on_device = True
    yields_embeddings = True
    caches_prepared = True  # the embeddings: a resumed run does not encode again
    C = 10.0

    def prepare(self, texts):
        if self.embeddings is None:  # else restored from an interrupted run
            self.embeddings = encode(self.train_cfg.model, texts, show_progress=self.show_progress)
        self.features = self.embeddings

    def prepared_arrays(self) -> dict:
        return {"embeddings": self.embeddings}

    def restore(self, arrays: dict) -> None:
        self.embeddings = arrays["embeddings"]

    def classifier(self):
        return LogisticRegression(C=self.C, max_iter=2000, random_state=self.seed)

    def details(self):
        return {"model": self.train_cfg.model, "dim": int(self.embeddings.shape[1]), "C": self.C}
