"""Property tests (hypothesis) of every parser and decoder fed wrong input."""
