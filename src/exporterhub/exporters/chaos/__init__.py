"""AAISP CHAOS v2 exporter: polls A&A's CHAOS API and exports ``aaisp_*`` metrics.

Modules: ``protocol`` (classifies answers and extracts typed lines from their
payloads; re-exports ``answers`` for the §5 classification, ``payloads`` for the
extractors and ``fields`` for tolerant value reads), ``state`` (folds them into a
``ChaosSnapshot``, pruning old values per tier), ``collector`` (the metric table).
These are pure; only the client touches the network. Importing this package loads
nothing heavy.
"""

from __future__ import annotations

__all__ = ["collector", "protocol", "state"]
