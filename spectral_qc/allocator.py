"""Keep freed memory in the process: no page faults for the arrays of every step.

A time step allocates and frees the same few hundred arrays of ``N² · nlat · nphi``
doubles each time. glibc's malloc returns large blocks to the operating system when they
are freed (``mmap`` above a threshold, heap trimming above another), so the next step
gets fresh pages and pays a page fault per 4 kB on first touch: measured at lmax 63, a
two-qubit hybrid step took 5,000 page faults and ≈ 25 % of its CPU time for them
(docs/performance.md, issue 16). :func:`retain_freed_memory` raises both thresholds
once, so freed blocks are reused; the price is that the process keeps its peak heap.

Only glibc (Linux) is tuned; elsewhere, or when the user set glibc's own
``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` or ``SPECTRAL_QC_KEEP_MEMORY=0``,
nothing is changed.
"""

from __future__ import annotations

import os
import sys

#: mallopt parameters (glibc malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: Blocks up to this size come from the heap (reused) instead of fresh mmap pages.
MMAP_THRESHOLD = 1 << 30
#: Free memory kept at the top of the heap before any is returned to the system.
TRIM_THRESHOLD = (1 << 31) - 1

_done = False


def retain_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; True if they were set.

    Called by :class:`~spectral_qc.sphere.SphereGrid`; harmless to call again.
    """
    global _done
    if _done:
        return True
    if (not sys.platform.startswith("linux") or os.environ.get("SPECTRAL_QC_KEEP_MEMORY") == "0"
            or "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) & bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done
