"""Compiled kernels (Cython). Nothing here imports the rest of the project."""
