"""Tests of the SNP exporter."""
