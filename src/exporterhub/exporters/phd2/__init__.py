"""PHD2 guiding exporter: watches PHD2's event server and exports ``phd2_*`` metrics.

Modules: ``framing`` (lines out of the byte stream), ``protocol`` (parsing and
encoding of event-server lines), ``state`` (folds events and poll results into a
``Phd2Snapshot``; its event handlers in ``events``, GuideStep runs in ``guiding``,
the RMS windows in ``rms``, typed field reads in ``fields``, the snapshot types in
``snapshot``, the window mean and peak in ``window``), ``collector`` (the metric
table, with the window statistics and rarer events' rows in ``lastvalues`` and the
original phd2-exporter's families, served with ``legacy_metrics``, in ``legacy``).
These are pure; only the client touches the network.
Importing this package loads nothing heavy.
"""

from __future__ import annotations

__all__ = ["collector", "protocol", "state"]
