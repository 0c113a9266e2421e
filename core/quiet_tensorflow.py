"""Import TensorFlow without the native notices it prints on stderr while it loads.

While it loads, TensorFlow 2.16+ logs from C++, whatever TF_CPP_MIN_LOG_LEVEL says, "WARNING:
All log messages before absl::InitializeLog() is called are written to STDERR" and "oneDNN
custom operations are on…" (once per shared library holding a copy of absl, so twice),
straight to file descriptor 2, past `sys.stderr`. So the training command (training/train.py)
and the server (app/model_registry.py, where each worker first loads Keras) import TensorFlow
here, with descriptor 2 captured, and pass on every line except those notices: a real warning
or error during the import still reaches the user. The numerics are untouched (oneDNN stays as
TensorFlow chose).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

# The absl banner, and C++ INFO lines ("I0000 00:00:1795772957.686841   10669 port.cc:153] …").
NATIVE_NOTICE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|I\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] "
)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and Keras, keeping TensorFlow's native start-up notices off stderr."""
    # Hides the C++ log lines that do honour it, before TensorFlow is loaded: which CPU
    # instructions the build could use (INFO) and, during fit, tf.data's "NodeDef mentions
    # attribute use_unbounded_threadpool" (ERROR-level but harmless: the graph is newer than
    # the runtime). A real failure still reaches the user as a Python exception; set
    # TF_CPP_MIN_LOG_LEVEL=0 to see every native line.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401  (imports TensorFlow, its backend)
            import tensorflow  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
            captured.seek(0)
            lines = captured.read().decode("utf-8", errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not NATIVE_NOTICE.match(line)))
            sys.stderr.flush()
