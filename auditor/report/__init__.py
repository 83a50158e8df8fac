"""Rendering a finished run: the HTML report and its plots."""
