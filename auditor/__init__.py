"""auditor: find mislabelled examples in text-classification datasets.

    >>> from auditor import audit
    >>> result = audit(df, method="tfidf")        # a DataFrame, datasets.Dataset, path or Hub id
    >>> result.suspects(20)                       # most suspect first
"""

from .api import audit
from .annotate.apply import apply_corrections
from .errors import AuditorError, DataError, HubError, OptionError, RunDirError
from .result import AuditResult, load_run

__all__ = ["audit", "load_run", "apply_corrections", "AuditResult", "AuditorError", "DataError", "OptionError",
           "RunDirError", "HubError"]
__version__ = "0.1.0"
