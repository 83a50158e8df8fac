"""The annotation round trip: suspects out to annotators (a CSV or an annotation tool), their answers back."""
