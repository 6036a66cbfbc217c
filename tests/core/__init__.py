"""Unit tests of the shared core (``exporterhub.core``)."""
