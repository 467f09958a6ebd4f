"""Lossless export: a dataset's own label files with audits applied (``corrections.export_labels``).

Kept free of imports so the format modules can use ``json_patch`` without a cycle."""
