"""Imagine Communications SNP exporter: the SMM's status stream as ``ic_snp_*``.

Modules: ``protocol`` (frames, status items and value strings), ``objects``
(one status object into typed values in base units), ``state`` (folds frames and
REST answers into an ``SnpSnapshot``), ``collector`` and ``additions`` (the
metric table), ``settings`` (the connection model). These are pure; only
``client`` touches the network, and ``plugin`` wires them into the core.
The standalone ``snp-exporter`` command (``__main__``) adds ``command_settings``
(the original's env), ``records`` (its connection records, pure), ``compat`` (its
REST API over the control plane) and ``migrate`` (its database into a store).
Importing this package loads nothing heavy.
"""

from __future__ import annotations

__all__ = ["collector", "protocol", "state"]
