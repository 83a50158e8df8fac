"""auditor: find mislabelled examples in text-classification datasets.

    >>> from auditor import audit
    >>> result = audit(df, method="tfidf")        # a DataFrame, datasets.Dataset, path or Hub id
    >>> result.suspects(20)                       # most suspect first
"""

from .errors import AuditorError, DataError, HubError, OptionError, RunDirError

__all__ = ["audit", "load_run", "apply_corrections", "AuditResult", "AuditorError", "DataError", "OptionError",
           "RunDirError", "HubError"]
__version__ = "0.1.0"

# Loaded on first use: `python -m auditor` imports this package before it can catch Ctrl-C, and pandas,
# scikit-learn and torch take seconds to load (README: interrupts).
_LAZY = {"audit": ".api", "apply_corrections": ".annotate.apply", "AuditResult": ".result", "load_run": ".result"}


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
