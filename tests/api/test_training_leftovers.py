"""A training run of WebSocket /train leaves nothing behind in the server's process: not its
training digits, not its model, not its traced training step (app/training_leftovers.py).
Counted in objects, not in RSS: the live barrage (tests/robustness/test_training_socket_fuzz.py)
measures the memory. Needs MNIST in ../shared/data."""

from __future__ import annotations

import gc
import time
from typing import Any

import pytest
from project_paths import SHARED_DATA

from app.training_job import run_job
from app.training_leftovers import CUSTOM_GRADIENT_PREFIX, releasing_leftovers
from app.training_runs import RunControl, RunRequest
from core.epochs import DigitEpochs

needs_mnist = pytest.mark.skipif(
    not (SHARED_DATA / "mnist.npz").is_file(), reason=f"MNIST is not in {SHARED_DATA}"
)
RUN = RunRequest(digits=(0, 1), epochs=50, pace="fast", snapshot_every=5)


def custom_gradients() -> set[str]:
    from tensorflow.python.framework import ops

    names = ops.gradient_registry.list()
    return {name for name in names if name.startswith(CUSTOM_GRADIENT_PREFIX)}


def alive(kind: type) -> int:
    gc.collect()
    return sum(isinstance(thing, kind) for thing in gc.get_objects())


def run(stop_reason: str, model_name: str) -> Any:
    """A 0/1 run stopped, for `stop_reason`, at its second snapshot."""
    control = RunControl(deadline=time.monotonic() + 120)
    snapshots = []

    def emit(message: dict[str, Any]) -> None:
        if message["type"] == "progress":
            snapshots.append(message)
            if len(snapshots) == 2:
                control.stop(stop_reason)

    return run_job(RUN, "run", model_name, SHARED_DATA, control, emit)


@pytest.fixture(scope="module")
def warm() -> None:
    """TensorFlow's one-time state (its training code, MNIST read once) is made by a first run."""
    run("client", "yours-01-warm")


@pytest.mark.slow  # it trains three runs on MNIST
@needs_mnist
@pytest.mark.parametrize(
    "stop_reason", ["error", "client"], ids=["refused mid-run", "stopped, model kept"]
)
def test_a_run_leaves_no_digits_model_or_traced_step_behind(warm: None, stop_reason: str) -> None:
    import keras

    gradients, digits, models = custom_gradients(), alive(DigitEpochs), alive(keras.Model)
    trained = run(stop_reason, "yours-01-measured")
    assert (trained is None) == (stop_reason == "error")
    del trained
    assert alive(DigitEpochs) == digits
    assert alive(keras.Model) == models
    assert custom_gradients() == gradients


def test_a_failed_run_keeps_its_traceback_without_its_variables() -> None:
    class Big:
        pass

    def fail() -> None:
        big = Big()  # noqa: F841  (a local the traceback would keep alive)
        raise ValueError("no")

    with pytest.raises(ValueError) as failed, releasing_leftovers():
        fail()
    assert failed.traceback[-1].name == "fail"
    assert alive(Big) == 0


def test_gradients_registered_while_another_run_goes_on_are_kept_until_it_ends() -> None:
    """A run that ends while another is tracing must not take the gradient functions the other
    one is about to look up: they are dropped when the last run ends."""
    from tensorflow.python.framework import ops

    with releasing_leftovers():
        with releasing_leftovers():
            ops.gradient_registry.register(lambda *_: None, f"{CUSTOM_GRADIENT_PREFIX}test-a")
        assert f"{CUSTOM_GRADIENT_PREFIX}test-a" in custom_gradients()
    assert f"{CUSTOM_GRADIENT_PREFIX}test-a" not in custom_gradients()
