"""app/answers.py's `json_answer`: how /predict's and /gradients' NumPy numbers become JSON (the
answers themselves are held to the network's passes in test_predict.py and test_gradients.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.answers import json_answer


def test_float32s_are_written_in_the_fewest_digits_that_read_back_the_same() -> None:
    values = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    response = json_answer({"values": values})
    written = json.loads(response.body)["values"]
    np.testing.assert_array_equal(np.asarray(written, np.float32), values)
    for number, value in zip(written, values, strict=True):
        assert repr(number) == repr(float(str(value)))  # NumPy's shortest float32 digits
    assert response.media_type == "application/json"


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2],  # a strided view, not contiguous
        np.arange(12, dtype=np.float32).reshape(3, 4).T,
        np.arange(6, dtype=np.float64).reshape(2, 3),
        np.zeros((2, 0), dtype=np.float32),
    ],
)
def test_any_array_is_written_as_its_nested_lists(array: np.ndarray) -> None:
    assert json.loads(json_answer({"a": array}).body) == {"a": array.tolist()}


def test_numpy_numbers_and_nan_are_written_as_json_numbers_and_null() -> None:
    answer = {
        "p": {"0": np.float32(0.25), "1": np.float32(0.75)},
        "nan": np.array([np.nan, np.inf], dtype=np.float32),
        "flag": np.bool_(True),
        "index": np.int64(3),
    }
    assert json.loads(json_answer(answer).body) == {
        "p": {"0": 0.25, "1": 0.75}, "nan": [None, None], "flag": True, "index": 3,
    }


def test_what_is_not_json_is_refused() -> None:
    with pytest.raises(TypeError):
        json_answer({"x": object()})
