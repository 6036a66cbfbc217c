"""Protocol simulators: each speaks a real device protocol on 127.0.0.1.

One sub-package per device (``phd2``, ``kasa``, ``chaos``, ``starlink``), each with
the same module names inside where the concept exists: ``model`` (device state,
scenario and fault switches; no I/O), ``wire`` (the wire protocol's encoding; no
I/O), ``server`` (the listener and its connections), ``command`` (the
``<name>-simulator`` command line) and ``__main__`` (``python -m``), plus
kind-specific modules (``phd2.session``, ``phd2.rpc``, ``kasa.xor``, ``kasa.klap``,
``kasa.discovery``, ``kasa.fleet``, ``chaos.accounts``, ``chaos.http``). Bundled
data files sit in the package's ``data/``. Each package's ``__init__`` re-exports
its public names and holds no logic; ``_serve`` is the run loop every command
shares. Importing this package loads nothing.
"""
