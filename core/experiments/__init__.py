"""Experiments that print and write AUROC tables (paper protocols, data-set evaluations)."""
