"""Backend name → "module:Class" in this package, imported on first use (finetune pulls in torch).

A new backend is one module with one `Backend` subclass and one entry here. The names live in a module of
their own, with no imports, so that `config` can validate `--method` without importing the backends.
"""

__all__ = ["REGISTRY", "NAMES"]

REGISTRY: dict[str, str] = {
    "finetune": "finetune:FinetuneBackend",
    "embeddings": "embeddings:EmbeddingsBackend",
    "tfidf": "tfidf:TfidfBackend",
    "hybrid": "hybrid:HybridBackend",
    "nb": "nb:NaiveBayesBackend",
}
NAMES = tuple(REGISTRY)
