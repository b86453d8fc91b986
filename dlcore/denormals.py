"""Denormal floats flushed to zero on every thread that trains, and a probe that checks it.

Long runs push weights, optimizer state and tiny probabilities below float32's smallest normal number (1.2e-38), and
some CPUs handle such denormal numbers many times slower. `torch.set_flush_denormal(True)` sets the CPU's FTZ/DAZ
flags, but only for the calling thread. Threads copy the flags from the thread that starts them, so a training thread
that sets them before its first parallel op hands them to the intra-op (OpenMP) threads it then starts. When those
already exist (a thread that ran parallel ops before it trained), `flush_denormals` also runs the setting once on each
of them, through the OpenMP runtime torch loaded; `denormals_flushed()` checks the result on every thread.
"""

from __future__ import annotations

import ctypes
import logging
import threading

import torch

log = logging.getLogger(__name__)
DENORMAL_BITS = 0x00100000  # a float32 denormal (1.5e-39) as its bit pattern
GRAIN = 32768  # elements: torch splits an elementwise op into shares at least this big (at::internal::GRAIN_SIZE)
_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_lock = threading.Lock()
_gomp: ctypes.CDLL | bool | None = None  # torch's OpenMP runtime; False where there is none to reach


def denormals_flushed() -> bool:
    """Whether denormals are flushed on this thread and on every intra-op thread it uses (a probe, well under 1 ms)."""
    # made from bits: a float written as 1.5e-39 would already be flushed while this thread fills it in
    n = GRAIN * max(2, torch.get_num_threads())  # a share for every intra-op thread
    x = torch.full((n,), DENORMAL_BITS, dtype=torch.int32).view(torch.float32)
    return not bool((x * 1.0).ne(0).any())  # each thread multiplies its share: a denormal survives where not flushed


def _openmp() -> ctypes.CDLL | None:
    """The OpenMP runtime torch runs its intra-op threads on (found among the loaded libraries), or None."""
    global _gomp
    with _lock:
        if _gomp is None:
            _gomp = False
            try:
                with open("/proc/self/maps") as maps:  # Linux: the library torch actually loaded, not another copy
                    paths = {line.split()[-1] for line in maps if "libgomp" in line or "libiomp" in line}
                for path in sorted(paths):
                    lib = ctypes.CDLL(path)
                    if hasattr(lib, "GOMP_parallel"):
                        lib.GOMP_parallel.argtypes = [_CALLBACK, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
                        _gomp = lib
                        break
            except OSError as e:
                log.info("no OpenMP runtime to reach: %s", e)
        return _gomp or None


@_CALLBACK
def _flush_here(_data) -> None:  # runs once on each thread of the OpenMP team
    torch.set_flush_denormal(True)


def flush_denormals() -> bool:
    """Flush denormal floats to zero on this thread and its intra-op threads; False where the CPU cannot."""
    if not torch.set_flush_denormal(True):
        return False
    if torch.get_num_threads() > 1 and not denormals_flushed():
        lib = _openmp()  # this thread's intra-op threads predate the flag: set it on each of them
        if lib is not None:
            lib.GOMP_parallel(_flush_here, None, torch.get_num_threads(), 0)
        if not denormals_flushed():
            log.warning("denormals are not flushed on all of torch's intra-op threads; long runs may slow down")
            return False
    return True


__all__ = ["denormals_flushed", "flush_denormals"]
