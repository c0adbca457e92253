"""Data generators that write the LRA release layout."""
