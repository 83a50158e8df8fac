"""The command line: `auditor.cli.main` is the console entry point and `python -m auditor`."""

from .main import build_parser, main

__all__ = ["main", "build_parser"]
