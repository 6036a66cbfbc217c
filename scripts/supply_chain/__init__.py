"""Supply-chain tooling: the lock, the offline advisory audit, the licence list.

Run from the repository root as ``python -m scripts.supply_chain.<module>`` (the
Makefile's ``lock``, ``audit``, ``advisories`` and ``licences`` targets do). These
modules read files and installed metadata; none of them installs anything.
"""
