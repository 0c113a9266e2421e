"""What a training run leaves in TensorFlow's process, let go of when the run ends.

A server trains run after run in one process, so what each run leaves behind adds up. Measured
on TensorFlow 2.20 / Keras 3 (docs/api.md, "Memory"), a 0/1 run stopped after two snapshots left
~20 MB, for good, through two of TensorFlow's registries that outlive the model:

- the training digits, held by the epoch dataset's `numpy_function`, which eager TensorFlow
  ties to the global graph; core/epochs.py holds them only weakly for that reason;
- the traced training step (~1,000 graph operations, its FuncGraph and its functions in the eager
  context), held by the gradient registry: the optimizer's all-reduce is a `custom_gradient`,
  and in a traced function each one registers a gradient function `CustomGradient-N` that is
  never removed. Once the training step is traced its gradient is built, so after the run nobody
  looks it up again: `releasing_leftovers` removes the entries made while runs were going, when
  the last run ends (never while another run may be tracing, which would need them).

Then a `gc.collect()`: Keras's epoch iterator and the model sit in reference cycles, which the
garbage collector would free only at its next full pass, holding the run's dataset until then.

And, in the server only, glibc's mmap threshold fixed at 128 KiB once a run starts: a run's
epochs are hundreds of arrays of a few hundred KB, which glibc's heap otherwise keeps once freed
(its dynamic threshold moves them onto the heap), so that the server's resident memory grew by
~180 MB over a barrage of runs (tests/robustness/test_training_socket_fuzz.py). Arrays above
the threshold are mapped and returned one by one: it costs a run's augmentation page faults
(the command line, which trains once and exits, does not do this: docs/training.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_runs_going = 0
_registered_before: frozenset[str] = frozenset()
CUSTOM_GRADIENT_PREFIX = "CustomGradient-"  # tensorflow/python/ops/custom_gradient.py's names


def _gradient_registry() -> dict[str, object]:
    """TensorFlow's gradient functions by name (a private dict: {} if a TensorFlow changed it)."""
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else {}


M_MMAP_THRESHOLD = -3  # glibc's malloc.h
LARGE_ARRAY_BYTES = 128 * 1024


def _map_large_arrays_one_by_one() -> None:
    """glibc's mallopt(M_MMAP_THRESHOLD, 128 KiB), where the C library is glibc."""
    name = ctypes.util.find_library("c")
    mallopt = getattr(ctypes.CDLL(name), "mallopt", None) if name else None
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, LARGE_ARRAY_BYTES)


@contextmanager
def releasing_leftovers() -> Iterator[None]:
    """Around one training run (on its thread): when the last run going ends, drop the gradient
    functions the runs registered and collect the garbage they left. A run that raises keeps
    its traceback, without the frames' variables (the model, the data)."""
    global _runs_going, _registered_before
    with _lock:
        if _runs_going == 0:
            _registered_before = frozenset(_gradient_registry())
            _map_large_arrays_one_by_one()
        _runs_going += 1
    try:
        yield
    except BaseException as error:
        traceback.clear_frames(error.__traceback__)
        raise
    finally:
        with _lock:
            _runs_going -= 1
            if _runs_going == 0:
                registry = _gradient_registry()
                for name in [
                    name for name in registry
                    if name.startswith(CUSTOM_GRADIENT_PREFIX) and name not in _registered_before
                ]:
                    del registry[name]
        gc.collect()

