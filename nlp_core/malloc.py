"""glibc malloc settings for a process (mallopt), for the commands and job workers whose
speed or memory depends on how freed buffers are kept.

glibc's defaults are dynamic: a buffer of 128 KiB or more is mmapped, and once such a
buffer is freed the mmap threshold rises to its size (at most 32 MiB), with the heap's
trim threshold at twice that. Setting either one fixes both. Nothing is done on a C
library other than glibc (musl, macOS), nor, with `respect_environment`, when the user set
one of glibc's MALLOC_*_ variables (theirs win).
"""
import ctypes
import os
import sys
from typing import Optional

# mallopt parameter numbers (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ENVIRONMENT = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_ARENA_MAX",
               "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


def set_malloc(*, mmap_threshold: Optional[int] = None, trim_threshold: Optional[int] = None,
               arena_max: Optional[int] = None, respect_environment: bool = False) -> bool:
    """Apply the given glibc malloc settings to this process; True when they were set
    (glibc, and not left to the environment)."""
    if not sys.platform.startswith("linux"):
        return False
    if respect_environment and any(name in os.environ for name in ENVIRONMENT):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl): nothing to set
        return False
    done = True
    for parameter, value in ((M_MMAP_THRESHOLD, mmap_threshold),
                             (M_TRIM_THRESHOLD, trim_threshold), (M_ARENA_MAX, arena_max)):
        if value is not None:
            done = bool(mallopt(parameter, int(value))) and done
    return done


__all__ = ["set_malloc"]
