"""auditor: find mislabelled examples in text-classification datasets."""

from .errors import AuditorError, DataError, OptionError, RunDirError
from .result import AuditResult, load_run

__all__ = ["AuditorError", "DataError", "OptionError", "RunDirError", "AuditResult", "load_run"]
__version__ = "0.1.0"
