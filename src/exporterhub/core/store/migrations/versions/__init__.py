"""One module per schema revision, forward only; never edit one that has shipped."""
