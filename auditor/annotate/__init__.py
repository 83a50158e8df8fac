"""Files for annotators: export the suspects for review, apply their corrections."""
