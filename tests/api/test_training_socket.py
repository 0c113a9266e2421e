"""WebSocket /train in the real app (in-process TestClient): a run's messages, its controls, its
limits, and the temporary model it leaves. Runs that train need MNIST in ../shared/data and skip
without it; the refusals need no data. Long because the socket's contract is long (docs/api.md):
one small test per behaviour, sharing the runs that are slow to make."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from project_paths import MODEL_STORE, SHARED_DATA, mnist_test_split_or_skip
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from app.main import create_app
from app.model_registry import load_registry
from app.routers import training as training_router
from app.settings import Settings
from app.training_session import Outbox

needs_mnist = pytest.mark.skipif(
    not (SHARED_DATA / "mnist.npz").is_file(), reason=f"MNIST is not in {SHARED_DATA}"
)


def trains_on_mnist(test: Any) -> Any:
    """A test that trains on MNIST: slow, and skipped without it. The refusals need no data."""
    return pytest.mark.slow(needs_mnist(test))


QUICK_RUN = {"digits": "0,1", "hidden": [25, 15], "epochs": 2, "pace": "fast"}
# Long enough that a test can act on it mid-run; watch pace keeps it slow.
LONG_RUN = {"epochs": 50, "pace": "watch", "snapshot_every": 5}


def make_client(**overrides: Any) -> TestClient:
    settings = Settings(data_dir=SHARED_DATA, **overrides)
    return TestClient(create_app(settings))


@pytest.fixture(scope="module")
def client(store_of: Callable[..., Path]) -> Iterator[TestClient]:
    """The app on the shipped dense models (no CNN, no atlas: nothing here needs them)."""
    with make_client(model_dir=store_of("digits-0-1", "digits-0-9")) as test_client:
        yield test_client


def receive_until(ws: Any, kind: str, limit: int = 10_000) -> list[dict[str, Any]]:
    """Messages up to and including the first of type `kind`."""
    messages = []
    for _ in range(limit):
        message = ws.receive_json()
        messages.append(message)
        if message["type"] in (kind, "error"):
            return messages
    raise AssertionError(f"no {kind!r} message in {limit}")


def mnist_test_digit(digit: int) -> list[list[float]]:
    images, labels = mnist_test_split_or_skip()
    return (images[np.flatnonzero(labels == digit)[0]] / 255.0).tolist()


def wait_until_idle(client: TestClient, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while client.app.state.training_slots.running:
        assert time.monotonic() < deadline, "a training run is still going"
        time.sleep(0.05)


# ---------------------------------------------------------------- a whole run, recorded once
@pytest.fixture(scope="module")
def quick_run(client: TestClient) -> list[dict[str, Any]]:
    """A 0/1 run of the learner's 25/15 network for 2 epochs, watching an MNIST test 1 all
    along."""
    with client.websocket_connect("/train") as ws:
        ws.send_json(QUICK_RUN)
        messages = receive_until(ws, "started")
        ws.send_json({"type": "watch", "pixels": mnist_test_digit(1)})
        messages += receive_until(ws, "done")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1000
    return messages


@trains_on_mnist
def test_a_run_sends_started_then_progress_and_epochs_then_done(quick_run: list[dict]) -> None:
    kinds = [m["type"] for m in quick_run]
    assert kinds[0] == "started" and kinds[-1] == "done"
    assert [m["epoch"] for m in quick_run if m["type"] == "epoch"] == [1, 2]
    assert kinds.count("progress") >= 2 * 90 // 10  # a snapshot every 10 of the 90 batches
    last_epoch = max(i for i, kind in enumerate(kinds) if kind == "epoch")
    assert "progress" not in kinds[last_epoch:]


@trains_on_mnist
def test_started_names_the_run_its_settings_classes_and_example_counts(
    quick_run: list[dict],
) -> None:
    started = quick_run[0]
    assert started["settings"]["hidden"] == [25, 15] and started["settings"]["epochs"] == 2
    assert started["classes"] == ["0", "1"]
    assert started["examples"]["test"] == 2115  # MNIST's test 0s and 1s
    assert started["examples"]["train"] + started["examples"]["validation"] == 12665


@trains_on_mnist
def test_progress_counts_batches_and_examples_and_loss_falls(quick_run: list[dict]) -> None:
    progress = [m for m in quick_run if m["type"] == "progress" and m["batch"] > 0]
    assert all(m["batches"] == 90 for m in progress)
    seen = [m["seen"] for m in progress]
    assert seen == sorted(seen) and seen[-1] == 2 * quick_run[0]["examples"]["train"]
    assert progress[-1]["loss"] < progress[0]["loss"] / 4
    assert progress[-1]["accuracy"] > 0.99


@trains_on_mnist
def test_progress_carries_one_28x28_weight_image_per_first_layer_unit(
    quick_run: list[dict],
) -> None:
    progress = [m for m in quick_run if m["type"] == "progress"]
    first, last = progress[0]["first_layer"], progress[-1]["first_layer"]
    assert first["units"] == 25 and len(first["images"]) == 25 and len(first["scales"]) == 25
    codes = [np.frombuffer(base64.b64decode(image), np.uint8) for image in last["images"]]
    assert all(code.size == 28 * 28 for code in codes)
    assert first["images"] != last["images"]  # the weights changed as it learned


@trains_on_mnist
def test_a_convolutional_run_shows_its_first_kernels_and_serves_a_cnn(client: TestClient) -> None:
    with client.websocket_connect("/train") as ws:
        ws.send_json({"digits": "0,1", "conv": [4, 8], "hidden": [16], "activation": "relu",
                      "epochs": 1, "pace": "fast", "train_examples": 2000})
        messages = receive_until(ws, "done")
    assert messages[0]["settings"]["conv"] == [4, 8]
    progress = [m for m in messages if m["type"] == "progress"]
    first, last = progress[0]["first_layer"], progress[-1]["first_layer"]
    assert (first["kind"], first["side"], first["units"]) == ("conv2d", 3, 4)
    codes = [np.frombuffer(base64.b64decode(image), np.uint8) for image in last["images"]]
    assert len(codes) == 4 and all(code.size == 3 * 3 for code in codes)
    assert first["images"] != last["images"]  # the kernels changed as it learned
    done = messages[-1]
    assert done["type"] == "done" and done["metrics"]["test"]["accuracy"] > 0.9
    details = client.get(f"/models/{done['model']}").json()
    kinds = [layer["kind"] for layer in details["layers"]]
    assert kinds == ["conv2d", "max_pool", "conv2d", "max_pool", "flatten", "dense", "dense"]
    assert details["layers"][2]["shape"] == [14, 14, 8]


@trains_on_mnist
def test_the_watched_drawing_gets_probabilities_that_move_towards_its_digit(
    quick_run: list[dict],
) -> None:
    watched = [m["watch"] for m in quick_run if m["type"] == "progress" and "watch" in m]
    assert len(watched) >= 10
    assert all(abs(sum(w["probabilities"]) - 1) < 1e-4 for w in watched)
    first, last = watched[0]["probabilities"][1], watched[-1]["probabilities"][1]
    assert watched[-1]["prediction"] == 1 and last > 0.9 and last > first


@trains_on_mnist
def test_two_epochs_reach_99_percent_on_the_test_0s_and_1s(quick_run: list[dict]) -> None:
    done = quick_run[-1]
    assert done["metrics"]["test"]["accuracy"] >= 0.99
    assert done["metrics"]["test"]["count"] == 2115 and done["metrics"]["test"]["loss"] < 0.1
    assert done["stopped"] is False and done["training_time_s"] > 0
    epochs = [m for m in quick_run if m["type"] == "epoch"]
    assert epochs[-1]["val_accuracy"] >= 0.99 and epochs[-1]["val_loss"] is not None


# ---------------------------------------------------------------- the model it leaves
@trains_on_mnist
def test_the_trained_model_predicts_and_is_listed_as_temporary(
    client: TestClient, quick_run: list[dict]
) -> None:
    name = quick_run[-1]["model"]
    answer = client.post(f"/predict?model={name}", json={"pixels": mnist_test_digit(1)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["prediction"] == 1 and answer.json()["model"] == name
    listed = {m["name"]: m for m in client.get("/models").json()["models"]}
    assert name not in listed and listed["digits-0-1"]["temporary"] is False  # shipped only
    detail = client.get(f"/models/{name}").json()
    assert [layer["units"] for layer in detail["layers"]] == [25, 15, 1]
    assert detail["temporary"] is True
    taught = client.post(
        f"/gradients?model={name}", json={"pixels": mnist_test_digit(1), "target": "0"}
    )
    assert taught.status_code == 200 and taught.json()["model"] == name


@trains_on_mnist
def test_the_download_opens_in_keras_and_serves_from_a_model_store(
    client: TestClient, quick_run: list[dict], tmp_path: Path
) -> None:
    import keras

    name = quick_run[-1]["model"]
    answer = client.get(f"/models/{name}/download")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    zipfile.ZipFile(io.BytesIO(answer.content)).extractall(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.json", f"{name}.keras"]
    keras_model = keras.saving.load_model(tmp_path / f"{name}.keras")
    served = client.post(f"/predict?model={name}", json={"pixels": mnist_test_digit(0)}).json()
    x = np.asarray(mnist_test_digit(0), np.float32).reshape(1, 784)
    # The same network as the one served: p("1") of a 0, as /predict gave it.
    assert float(np.asarray(keras_model(x))[0, 0]) == pytest.approx(
        served["probabilities"]["1"], abs=1e-5
    )
    registry = load_registry(tmp_path, name)  # what the app does with its model store
    assert registry.get(name).predict(x[0]).index == 0
    assert json.loads((tmp_path / f"{name}.json").read_text())["history"]["val_accuracy"]


@trains_on_mnist
def test_the_pages_model_card_has_every_key_of_a_shipped_card_and_how_the_page_ran_it(
    client: TestClient, quick_run: list[dict]
) -> None:
    name = quick_run[-1]["model"]
    card = client.app.state.temporary_models.get(name).model.card
    shipped = json.loads((MODEL_STORE / "digits-0-1.json").read_text())
    # The detector adds "ood": the page's model has none; "files" holds its sha256.
    assert set(shipped) - {"ood"} == set(card)
    assert set(card["files"]) == {"model", "model_sha256"}
    assert set(shipped["architecture"]) == set(card["architecture"])
    assert set(shipped["training"]) < set(card["training"])
    assert card["training"]["epochs"] == 2 and card["training"]["pace"] == "fast"
    assert card["training"]["stopped"] is None
    assert card["command"].startswith("WebSocket /train ")
    assert card["data"]["source"] == shipped["data"]["source"] == "MNIST (LeCun, Cortes and Burges)"
    assert card["data"]["sha256"]["x_test"] == shipped["data"]["sha256"]["x_test"]


@trains_on_mnist
def test_a_trained_models_name_carries_128_random_bits(quick_run: list[dict]) -> None:
    name = quick_run[-1]["model"]
    prefix, _, token = name.rpartition("-")
    assert prefix == "yours-0-1" and len(token) == 32 and int(token, 16) >= 0


@trains_on_mnist
def test_a_temporary_model_is_dropped_30_minutes_after_its_last_use(
    client: TestClient, quick_run: list[dict]
) -> None:
    name = quick_run[-1]["model"]
    kept = client.app.state.temporary_models
    now = [time.monotonic()]
    real_clock, kept.clock = kept.clock, lambda: now[0]
    try:
        pixels = {"pixels": mnist_test_digit(1)}
        now[0] += 20 * 60
        assert client.post(f"/predict?model={name}", json=pixels).status_code == 200
        now[0] += 20 * 60  # 40 minutes after training, 20 after its last use
        assert client.post(f"/predict?model={name}", json=pixels).status_code == 200
        # A second past the 30 minutes, not exactly on them: (t + 1800) − t in float seconds is
        # 1799.9999999999998 for about one monotonic clock reading in five between 4000 and 6000 s.
        now[0] += 30 * 60 + 1
        expired = client.post(f"/predict?model={name}", json=pixels)
        assert expired.status_code == 404 and "expired" in expired.json()["detail"]
        for route in ("", "/download", "/training"):
            answer = client.get(f"/models/{name}{route}")
            assert answer.status_code == 404 and "expired" in answer.json()["detail"], route
    finally:
        kept.clock = real_clock


@trains_on_mnist
def test_the_labs_knobs_reach_the_run_and_its_model_is_served_without_dropout(
    client: TestClient,
) -> None:
    knobs = {"optimizer": "momentum", "initializer": "he", "l2": 0.001, "dropout": 0.5,
             "train_examples": 200, "learning_rate": 0.05}
    with client.websocket_connect("/train") as ws:
        ws.send_json({**QUICK_RUN, **knobs, "activation": "relu"})
        messages = receive_until(ws, "done")
    started, done = messages[0], messages[-1]
    assert {key: started["settings"][key] for key in knobs} == knobs
    assert started["examples"]["train"] == 200
    assert all(m["batches"] == 2 for m in messages if m["type"] == "progress")
    assert done["type"] == "done" and done["metrics"]["train"]["count"] == 200
    assert done["metrics"]["test"]["accuracy"] > 0.9  # 200 digits suffice for 0 vs 1
    card = client.app.state.temporary_models.get(done["model"]).model.card
    assert card["training"]["optimizer"] == "momentum"
    assert (card["training"]["dropout"], card["training"]["train_examples"]) == (0.5, 200)
    assert [layer["name"] for layer in card["architecture"]["layers"]] == [
        "hidden_1", "hidden_2", "output"]
    answer = client.post(f"/predict?model={done['model']}", json={"pixels": mnist_test_digit(1)})
    assert answer.status_code == 200 and answer.json()["prediction"] == 1


# ---------------------------------------------------------------- controls
@trains_on_mnist
def test_stop_ends_the_run_early_with_done_for_the_model_so_far(client: TestClient) -> None:
    with client.websocket_connect("/train") as ws:
        ws.send_json(LONG_RUN)
        receive_until(ws, "progress")
        ws.send_json({"type": "stop"})
        messages = receive_until(ws, "done")
    done = messages[-1]
    assert done["type"] == "done" and done["stopped"] is True and done["stop_reason"] == "client"
    assert len([m for m in messages if m["type"] == "epoch"]) < 50
    assert client.post(f"/predict?model={done['model']}", json={"pixels": mnist_test_digit(0)}
                       ).status_code == 200


def next_progress(ws: Any) -> dict[str, Any]:
    message = receive_until(ws, "progress")[-1]
    assert message["type"] == "progress", message
    return message


@trains_on_mnist
def test_a_paused_run_holds_its_place_and_step_trains_one_snapshot(client: TestClient) -> None:
    with client.websocket_connect("/train") as ws:
        ws.send_json(LONG_RUN)  # a snapshot every 5 batches, at most 5 a second
        assert next_progress(ws)["batch"] == 0  # the starting weights
        ws.send_json({"type": "pause"})
        held = next_progress(ws)  # where the pause took hold, shown at once
        time.sleep(1.0)
        ws.send_json({"type": "step"})
        stepped = next_progress(ws)
        time.sleep(1.0)  # a run going on would send about 5 snapshots meanwhile
        ws.send_json({"type": "stop"})
        rest = receive_until(ws, "done")
    assert stepped["epoch"] == held["epoch"] and stepped["batch"] - held["batch"] == 5
    assert [m["type"] for m in rest if m["type"] == "progress"] == []
    assert rest[-1].get("stopped") is True, rest[-1]


@trains_on_mnist
def test_a_client_that_disconnects_stops_its_run(client: TestClient) -> None:
    before = len(client.app.state.temporary_models.all())
    with client.websocket_connect("/train") as ws:
        ws.send_json(LONG_RUN)
        receive_until(ws, "progress")
    # The thread stops after its current batch (the first one includes Keras's tracing).
    wait_until_idle(client, timeout_s=30)
    assert len(client.app.state.temporary_models.all()) == before  # nobody to hand it to


@trains_on_mnist
def test_one_run_too_many_is_told_the_server_is_busy_with_code_1013(client: TestClient) -> None:
    with client.websocket_connect("/train") as first:
        first.send_json(LONG_RUN)
        receive_until(first, "started")
        with client.websocket_connect("/train") as second:
            second.send_json(QUICK_RUN)
            error = second.receive_json()
            with pytest.raises(WebSocketDisconnect) as closed:
                second.receive_json()
        first.send_json({"type": "stop"})
        receive_until(first, "done")
    assert error["type"] == "error" and "busy" in error["detail"]
    assert closed.value.code == 1013


@trains_on_mnist
def test_a_run_ends_at_the_time_limit() -> None:
    with make_client(max_training_s=2.0) as capped, capped.websocket_connect("/train") as ws:
        ws.send_json(LONG_RUN)
        done = receive_until(ws, "done")[-1]
    assert done["type"] == "done" and done["stop_reason"] == "time_limit"
    assert done["stopped"] is False


# ---------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"epochs": 51}, "epochs"),
        ({"epochs": "5"}, "epochs"),
        ({"hidden": [8, 8, 8, 8, 8]}, "hidden"),
        ({"hidden": [257]}, "256 units"),
        ({"hidden": []}, "hidden"),
        ({"activation": "softplus"}, "activation"),
        ({"digits": "3"}, "at least two digits"),
        ({"digits": "0,12"}, "digits"),
        ({"learning_rate": -0.1}, "learning_rate"),
        ({"learning_rate": float("inf")}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"pace": "slow"}, "pace"),
        ({"snapshot_every": 0}, "snapshot_every"),
        ({"epoch": 5}, "unknown field(s) 'epoch'"),
        # Sizes checked before any work: a range before it is expanded, a text before it is split.
        ({"digits": "0-99999999"}, "digits"),
        ({"digits": "0-" + "9" * 5000}, "digits"),
        ({"digits": "²,3"}, "digits"),  # str.isdigit says yes, int() says no
        ({"digits": "٣,4"}, "digits"),  # an Arabic-Indic 3, which int() would read
        ({"digits": list(range(10_000))}, "digits"),
        ({"hidden": "8," * 5000}, "hidden"),
        ({"hidden": [True, 8]}, "hidden"),
        ({"batch_size": 1025}, "batch_size"),
        ({"batch_size": 64.0}, "batch_size"),
        ({"epochs": True}, "epochs"),
        ({"activation": ["relu"]}, "activation"),
        ({"pace": {"watch": 1}}, "pace"),
        ({"x" * 50_000: 1}, "unknown field(s)"),
        # The lab's knobs, checked like the others.
        ({"optimizer": "rmsprop"}, "optimizer 'rmsprop': choose one of sgd, momentum, adam"),
        ({"optimizer": ["sgd"]}, "optimizer"),
        ({"optimizer": "x" * 50_000}, "optimizer"),
        ({"initializer": "ones"}, "initializer 'ones': choose one of glorot, he, zeros, large"),
        ({"initializer": None}, "initializer"),
        ({"l2": 0.2}, "l2 0.2: give a number from 0 to 0.1"),
        ({"l2": -0.01}, "l2"),
        ({"l2": "0.01"}, "l2"),
        ({"l2": True}, "l2"),
        ({"dropout": 0.9}, "dropout 0.9: give a number from 0 to 0.8"),
        ({"dropout": -1}, "dropout"),
        ({"dropout": [0.5]}, "dropout"),
        ({"train_examples": 5}, "train_examples 5: give a whole number of digits from 10"),
        ({"train_examples": 60_001}, "train_examples"),
        ({"train_examples": 100.0}, "train_examples"),
        ({"train_examples": "100"}, "train_examples"),
        ({"learning_rate": 10.5}, "learning_rate"),
        ({"signals": "yes"}, "signals"),
        ({"signals": 1}, "signals"),
        # A convolutional network's filters per layer, within the socket's caps.
        ({"conv": [64]}, "conv [64]: each layer needs 1 to 32 filters"),
        ({"conv": [4, 4, 4]}, "conv: at most 2 convolution layers"),
        ({"conv": "4;8"}, "conv '4;8': give the filters per convolution layer"),
        ({"conv": [0]}, "conv"),
        ({"conv": [4.0]}, "conv"),
        ({"conv": {"filters": 4}}, "conv"),
    ],
)
def test_bad_settings_get_an_error_naming_what_to_fix(
    client: TestClient, settings: dict[str, Any], named: str
) -> None:
    with client.websocket_connect("/train") as ws:
        ws.send_text(json.dumps(settings))  # json.dumps: Infinity is sent as such
        error = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert error["type"] == "error" and named in error["detail"]
    assert len(error["detail"]) < 300  # what it was given is quoted, not echoed whole
    assert closed.value.code == 1008
    assert not client.app.state.training_slots.running


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('{"epochs": 1' + "0" * 5000 + "}", "epochs <a number of 5,001 digits>"),
        ('{"epochs": 1' + "0" * 20 + "}", "epochs <a number of 21 digits>"),
        ('{"learning_rate": NaN}', "learning_rate nan"),
        ('{"learning_rate": 1e999}', "learning_rate inf"),
        ('{"batch_size": -1' + "0" * 30 + "}", "batch_size <a number of 32 digits>"),
        ('{"hidden": ' + "[" * 500 + "]" * 500 + "}", "hidden"),
        ('{"dropout": NaN}', "dropout nan"),
        ('{"l2": Infinity}', "l2 inf"),
        ('{"l2": 1e-999, "epochs": 0}', "epochs 0"),  # 0.0, allowed: the next field is refused
        ('{"train_examples": 1' + "0" * 40 + "}", "train_examples <a number of 41 digits>"),
        ('{"dropout": 1' + "0" * 5000 + "}", "dropout <a number of 5,001 digits>"),
    ],
)
def test_huge_and_odd_json_numbers_get_an_error_naming_the_field(
    client: TestClient, text: str, named: str
) -> None:
    started = time.monotonic()
    with client.websocket_connect("/train") as ws:
        ws.send_text(text)
        error = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert error["type"] == "error" and named in error["detail"], error
    assert closed.value.code == 1008 and time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("first", "named"),
    [
        ('{"type": "pause"}', "no run to pause yet"),
        ('{"type": "step"}', "no run to step yet"),
        ("[1, 2]", "JSON object"),
        ("epochs=5", "must be JSON"),
        ("[" * 60_000, "nested"),
        ('{"digits": ' + "[" * 10_000 + "]" * 10_000 + "}", "nested"),
        ('{"type": "' + "x" * 60_000 + '"}', "no such type"),
        ("", "must be JSON"),
        ("\ufeff{}", "must be JSON"),
    ],
)
def test_a_bad_or_early_first_message_gets_an_error(
    client: TestClient, first: str, named: str
) -> None:
    with client.websocket_connect("/train") as ws:
        ws.send_text(first)
        error = ws.receive_json()
    assert error["type"] == "error" and named in error["detail"]


def test_a_binary_message_is_refused(client: TestClient) -> None:
    with client.websocket_connect("/train") as ws:
        ws.send_bytes(b"{}")
        assert "JSON text" in ws.receive_json()["detail"]


def test_a_message_over_64_kib_is_refused_with_code_1009(client: TestClient) -> None:
    with client.websocket_connect("/train") as ws:
        ws.send_text(json.dumps({"digits": "0,1", "padding": "x" * 70_000}))
        error = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert "64 KiB" in error["detail"] and closed.value.code == 1009


@trains_on_mnist
@pytest.mark.parametrize(
    ("message", "named"),
    [
        ({"type": "step"}, "send pause first"),
        ({"digits": "0-9"}, "only be chosen once"),
        ({"type": "rewind"}, "one of watch, pause, resume, step, stop"),
        ({"type": ["watch"]}, "one of watch, pause, resume, step, stop"),
    ],
)
def test_a_bad_message_during_a_run_gets_an_error_and_ends_the_run(
    client: TestClient, message: dict[str, Any], named: str
) -> None:
    with client.websocket_connect("/train") as ws:
        ws.send_json(LONG_RUN)
        receive_until(ws, "started")
        started = time.monotonic()
        ws.send_json(message)
        error = receive_until(ws, "error")[-1]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        # Not after the thread's current batch or Keras's tracing: at once.
        assert time.monotonic() - started < 1.0
    assert error["type"] == "error" and named in error["detail"]
    assert closed.value.code == 1008
    wait_until_idle(client)


def bad_watch_pixels() -> list[tuple[str, str]]:
    row = "[" + ",".join(["0.5"] * 28) + "]"
    rows = lambda first: "[" + ",".join([first] + [row] * 27) + "]"  # noqa: E731
    return [
        ("[" + ",".join([row] * 27) + "]", "28 rows of 28"),
        (rows("[" + ",".join(["2.0"] * 28) + "]"), "[0, 1]"),
        (rows("[NaN" + ",0.5" * 27 + "]"), "NaN"),
        (rows("[Infinity" + ",0.5" * 27 + "]"), "NaN or Infinity"),
        (rows("[1" + "0" * 400 + ",0.5" * 27 + "]"), "only numbers"),  # NumPy would overflow
        (rows('["0.5"' + ",0.5" * 27 + "]"), "not text"),
        (rows("[true" + ",0.5" * 27 + "]"), "not text or true/false"),
        ("[[[[[[0.5]]]]]]", "28 rows of 28"),
        ('"pixels"', "28 rows of 28"),
    ]


@trains_on_mnist
def test_a_bad_watched_drawing_gets_an_error_and_the_run_goes_on(client: TestClient) -> None:
    with client.websocket_connect("/train") as ws:
        ws.send_json(LONG_RUN)
        receive_until(ws, "started")
        for pixels, named in bad_watch_pixels():
            ws.send_text('{"type": "watch", "pixels": ' + pixels + "}")
            error = receive_until(ws, "error")[-1]
            assert named in error["detail"], (pixels[:40], error)
        ws.send_json({"type": "watch", "pixels": mnist_test_digit(1)})
        watched = [m for m in receive_until(ws, "progress", limit=50) if "watch" in m]
        while not watched:  # the drawing is answered from the next snapshot on
            watched = [m for m in [next_progress(ws)] if "watch" in m]
        ws.send_json({"type": "stop"})
        done = receive_until(ws, "done")[-1]
    assert done["type"] == "done" and done["stop_reason"] == "client"


def test_a_socket_from_another_sites_page_is_refused_at_the_handshake(
    client: TestClient,
) -> None:
    with (
        pytest.raises(WebSocketDenialResponse) as refused,
        client.websocket_connect("/train", headers={"origin": "https://elsewhere.example"}),
    ):
        pass
    assert refused.value.status_code == 403
    assert "DIGITS_TRAINING_ORIGINS" in refused.value.json()["detail"]


def test_this_servers_own_page_and_allowed_origins_may_connect(
    store_of: Callable[..., Path],
) -> None:
    with make_client(
        model_dir=store_of("digits-0-1"), training_origins="https://lens.example, https://b.example"
    ) as allowing:
        for origin in ("http://testserver", "https://lens.example"):
            with allowing.websocket_connect("/train", headers={"origin": origin}) as ws:
                ws.send_json({"epochs": 0})
                assert ws.receive_json()["type"] == "error"  # connected: settings checked


def test_training_turned_off_is_refused_at_the_handshake(store_of: Callable[..., Path]) -> None:
    with make_client(model_dir=store_of("digits-0-1"), allow_training=False) as off:
        assert off.get("/train/availability").json()["available"] is False
        with pytest.raises(WebSocketDenialResponse) as refused, off.websocket_connect("/train"):
            pass
    assert refused.value.status_code == 403
    assert "turned off" in refused.value.json()["detail"]


@pytest.mark.parametrize("data_dir", [None, "/srv/secret-place/mnist"])
def test_without_mnist_the_error_says_how_to_provide_it_and_names_no_path(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    store_of: Callable[..., Path],
    data_dir: str | None,
) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # an empty Keras cache
    settings = Settings(model_dir=store_of("digits-0-1"), data_dir=data_dir)
    with TestClient(create_app(settings)) as no_data:
        availability = no_data.get("/train/availability").json()
        with no_data.websocket_connect("/train") as ws:
            ws.send_json({})
            error = ws.receive_json()
    assert availability["available"] is False and "DIGITS_DATA_DIR" in availability["detail"]
    assert error["type"] == "error" and "DIGITS_DATA_DIR" in error["detail"]
    for detail in (availability["detail"], error["detail"]):
        assert str(tmp_path) not in detail and "secret-place" not in detail


def test_a_socket_that_sends_no_settings_is_closed(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(training_router, "FIRST_MESSAGE_TIMEOUT_S", 0.3)
    with client.websocket_connect("/train") as ws:
        error = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert "settings within" in error["detail"] and closed.value.code == 1008
    assert client.app.state.training_slots.waiting == 0


def test_sockets_waiting_for_settings_are_capped_at_the_handshake(client: TestClient) -> None:
    cap = training_router.MAX_WAITING_SOCKETS
    with contextlib.ExitStack() as open_sockets:
        for _ in range(cap):
            open_sockets.enter_context(client.websocket_connect("/train"))
        assert client.app.state.training_slots.waiting == cap
        with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect("/train"):
            pass
    assert refused.value.status_code == 503 and "try again" in refused.value.json()["detail"]
    with client.websocket_connect("/train") as ws:  # the others have gone: room again
        ws.send_json({"epochs": 0})
        assert "epochs" in ws.receive_json()["detail"]


# ---------------------------------------------------------------- how a model was trained
@trains_on_mnist
def test_the_training_report_has_the_cards_curves_confusion_and_misread_digits(
    client: TestClient,
) -> None:
    report = client.get("/models/digits-0-9/training").json()
    card = json.loads((MODEL_STORE / "digits-0-9.json").read_text())
    assert report["history"]["val_accuracy"] == card["history"]["val_accuracy"]
    matrix = np.asarray(report["test"]["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 10_000
    first = report["misread"][0]
    index = card["metrics"]["test"]["misclassified"][0]["mnist_test_index"]
    expected = mnist_test_split_or_skip()[0][index]
    image = np.frombuffer(base64.b64decode(first["image"]), np.uint8).reshape(28, 28)
    assert np.array_equal(image, expected) and first["true"] != first["predicted"]
    assert report["misread_count"] == len(card["metrics"]["test"]["misclassified"])


@pytest.mark.parametrize("route", ["download", "training"])
def test_an_unknown_model_name_gets_404_naming_the_known_models(
    client: TestClient, route: str
) -> None:
    answer = client.get(f"/models/no-such-model/{route}")
    assert answer.status_code == 404
    detail = answer.json()["detail"]
    assert "'no-such-model'" in detail and "digits-0-1" in detail and "digits-0-9" in detail


def test_a_training_report_without_mnist_says_why_it_has_no_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_of: Callable[..., Path]
) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    settings = Settings(model_dir=store_of("digits-0-1", "digits-0-9"), data_dir=None)
    with TestClient(create_app(settings)) as no_data:
        report = no_data.get("/models/digits-0-9/training").json()
    assert report["misread"] and all(m["image"] is None for m in report["misread"])
    assert "DIGITS_DATA_DIR" in report["images_note"]


@trains_on_mnist
def test_the_metrics_gauge_counts_the_run_in_progress(client: TestClient) -> None:
    def gauge() -> float:
        for line in client.get("/metrics").text.splitlines():
            if line.startswith("digits_training_runs_in_progress "):
                return float(line.split()[1])
        raise AssertionError("no digits_training_runs_in_progress in /metrics")

    assert gauge() == 0
    with client.websocket_connect("/train") as ws:
        ws.send_json(LONG_RUN)
        receive_until(ws, "progress")
        assert gauge() == 1
        ws.send_json({"type": "stop"})
        receive_until(ws, "done")
    wait_until_idle(client)
    assert gauge() == 0


# ---------------------------------------------------------------- the temporary models' store
def test_at_most_max_models_are_kept_and_the_oldest_goes_first(client: TestClient) -> None:
    from app.temporary_models import TemporaryModels

    shipped = client.app.state.registry.get("digits-0-1")
    kept = TemporaryModels(max_models=2)
    dropped: list[str] = []
    for name in ("first", "second", "third"):
        dropped += kept.add(replace(shipped, name=name), b"keras")
    kept.get("second")  # a use does not make the oldest-added stay longer
    assert [m.name for m in kept.all()] == ["second", "third"] and dropped == ["first"]


# ---------------------------------------------------------------- the outbox
def test_the_outbox_keeps_only_the_latest_snapshot_and_error_in_order() -> None:
    import asyncio

    async def scenario() -> list[dict[str, Any]]:
        outbox = Outbox()
        outbox.put({"type": "started"})
        for batch in range(10_000):  # a client that never reads, a run that goes on
            outbox.put({"type": "progress", "batch": batch})
            assert outbox.progress_waiting
            if batch % 1000 == 0:
                outbox.put({"type": "epoch", "epoch": batch // 1000})
                outbox.put({"type": "error", "detail": f"bad watch {batch}"})
        assert len(outbox) == 1 + 10 + 1 + 1  # started, ten epochs, one error, one snapshot
        outbox.close({"type": "done"})
        outbox.put({"type": "progress", "batch": -1})  # from the thread, after the end: dropped
        sent = [m async for m in iter_outbox(outbox)]
        assert not outbox.progress_waiting
        return sent

    sent = asyncio.run(scenario())
    assert [m["type"] for m in sent[:2]] == ["started", "epoch"]
    assert sent[-3:] == [
        {"type": "error", "detail": "bad watch 9000"},
        {"type": "progress", "batch": 9999},
        {"type": "done"},
    ]


def test_an_outbox_closed_on_an_error_sends_the_error_next() -> None:
    import asyncio

    async def scenario() -> list[dict[str, Any]]:
        outbox = Outbox()
        for kind in ("started", "progress", "epoch"):
            outbox.put({"type": kind})
        outbox.close({"type": "error", "detail": "x"}, drop_waiting=True)
        return [m async for m in iter_outbox(outbox)]

    assert asyncio.run(scenario()) == [{"type": "error", "detail": "x"}]


async def iter_outbox(outbox: Any) -> Any:
    while (message := await outbox.get()) is not None:
        yield message


# ---------------------------------------------------------------- the training lab's signals
def run_messages(client: TestClient, settings: dict[str, Any]) -> list[dict[str, Any]]:
    with client.websocket_connect("/train") as ws:
        ws.send_json({"pace": "fast", "epochs": 1, **settings})
        return receive_until(ws, "done")


def alerts_of(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [a for m in messages if m["type"] == "progress" for a in m["alerts"]
            if a["kind"] == kind]


@trains_on_mnist
def test_every_progress_carries_each_layers_signals(quick_run: list[dict]) -> None:
    progress = [m for m in quick_run if m["type"] == "progress"]
    for message in progress:
        layers = message["layers"]
        assert [layer["name"] for layer in layers] == ["hidden_1", "hidden_2", "output"]
        assert message["alerts"] == []  # the learner's network learns 0 vs 1 without trouble
        for layer, (inputs, units) in zip(layers, [(784, 25), (25, 15), (15, 1)], strict=True):
            assert layer["weight_norm"] > 0 and layer["gradient_norm"] > 0
            histograms = layer["histograms"]
            weights, activations = histograms["weights"], histograms["activations"]
            assert len(weights["edges"]) == len(weights["counts"]) + 1 == 31
            assert weights["edges"] == sorted(weights["edges"])
            assert sum(weights["counts"]) == inputs * units
            assert sum(activations["counts"]) % units == 0  # the batch's, unit by example
            assert layer["dead"] is None  # sigmoid units: no ReLU to die
        assert all(0 <= layer["saturated"] <= 1 for layer in layers[:2])
        assert layers[2]["saturated"] is None  # a confident output is meant to be flat
    assert progress[0]["batch"] == 0 and progress[0]["layers"][0]["update_ratio"] is None
    assert all(0 < m["layers"][0]["update_ratio"] < 1 for m in progress[1:])
    first, last = progress[0]["layers"][0], progress[-1]["layers"][0]
    assert first["histograms"]["weights"] != last["histograms"]["weights"]  # they move
    assert quick_run[-1]["alerts"] == []


@trains_on_mnist
def test_plain_sgd_at_rate_10_diverges_and_stops_with_a_fix_within_10_s(
    client: TestClient,
) -> None:
    before = len(client.app.state.temporary_models.all())
    started = time.monotonic()
    messages = run_messages(client, {"optimizer": "sgd", "learning_rate": 10, "epochs": 5})
    took = time.monotonic() - started
    done = messages[-1]
    assert done["type"] == "done" and done["stop_reason"] == "diverged", done
    assert took < 10, f"{took:.1f} s"
    assert done["model"] is None and done["metrics"] is None and done["stopped"] is False
    (alert,) = [a for a in done["alerts"] if a["kind"] == "diverged"]
    assert alert["fix"] == {"learning_rate": 1.0} and "learning rate" in alert["detail"]
    assert alert["epoch"] == 1 and alert["batch"] < 20
    assert len([m for m in messages if m["type"] == "epoch"]) <= 1  # stopped at once
    assert len(client.app.state.temporary_models.all()) == before  # the model is not kept


@trains_on_mnist
def test_a_zero_initialisation_is_called_symmetric_in_the_first_epoch(
    client: TestClient,
) -> None:
    messages = run_messages(client, {"initializer": "zeros"})
    symmetric = alerts_of(messages, "symmetric")
    assert {a["layer"] for a in symmetric} == {"hidden_1", "hidden_2"}
    assert all(a["epoch"] == 1 and a["fix"] == {"initializer": "glorot"} for a in symmetric)
    assert "same weights" in symmetric[0]["detail"]
    last = [m for m in messages if m["type"] == "progress"][-1]
    assert [layer["symmetric"] for layer in last["layers"]] == [True, True, None]


def gradient_ratios(messages: list[dict[str, Any]]) -> list[float]:
    """The output layer's kernel gradient norm over the first layer's, per progress message."""
    return [
        m["layers"][-1]["gradient_norm"] / max(m["layers"][0]["gradient_norm"], 1e-30)
        for m in messages if m["type"] == "progress" and m["epoch"] == 1
    ]


@trains_on_mnist
def test_four_sigmoid_layers_show_a_vanishing_gradient_and_four_relu_layers_do_not(
    client: TestClient,
) -> None:
    deep = {"hidden": [64, 64, 64, 64], "snapshot_every": 15}
    sigmoid = run_messages(client, {**deep, "activation": "sigmoid"})
    relu = run_messages(client, {**deep, "activation": "relu"})

    assert max(gradient_ratios(sigmoid)) >= 10
    (vanishing,) = alerts_of(sigmoid, "vanishing_gradient")[:1]
    assert vanishing["layer"] == "hidden_1" and vanishing["epoch"] == 1
    assert vanishing["fix"] == {"activation": "relu", "initializer": "he"}
    assert max(gradient_ratios(relu)) < 10
    assert alerts_of(relu, "vanishing_gradient") == []
    assert relu[-1]["alerts"] == []


@trains_on_mnist
def test_progress_with_signals_stays_within_the_sockets_64_kib(client: TestClient) -> None:
    from app.training_runs import MAX_MESSAGE_BYTES

    biggest = {"digits": "0-9", "hidden": [256] * 4, "activation": "relu", "pace": "fast",
               "snapshot_every": 1}
    with client.websocket_connect("/train") as ws:
        ws.send_json(biggest)
        receive_until(ws, "started")
        ws.send_json({"type": "watch", "pixels": mnist_test_digit(3)})
        sizes = []
        while len(sizes) < 6:
            text = ws.receive_text()
            if json.loads(text)["type"] == "progress":
                sizes.append(len(text.encode()))
        ws.send_json({"type": "stop"})
        last = receive_until(ws, "done")[-1]
    assert last["type"] == "done"
    assert max(sizes) <= MAX_MESSAGE_BYTES, sizes


@trains_on_mnist
def test_signals_false_leaves_them_out(client: TestClient) -> None:
    messages = run_messages(client, {"signals": False, "train_examples": 500})
    progress = [m for m in messages if m["type"] == "progress"]
    assert progress and all("layers" not in m and "alerts" not in m for m in progress)
    assert messages[-1]["type"] == "done" and messages[-1]["alerts"] == []
