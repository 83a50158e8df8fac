"""Everything people read or hand on: the HTML report, plots, and the annotators' CSV."""
