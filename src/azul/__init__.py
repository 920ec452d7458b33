"""Azul: index and search genomic metadata."""
