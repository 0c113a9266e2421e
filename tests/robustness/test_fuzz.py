"""Property-based tests (hypothesis) through the app in-process: whatever arrives, the answer
is never a 5xx, errors are JSON with a string `detail`, and the status is the one the input
deserves. Deterministic (derandomize) and bounded, so they behave the same in CI."""

from __future__ import annotations

import math
import struct
import zlib
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robustness_samples import (
    PNG_SIGNATURE,
    canvas_drawing,
    data_url,
    encode,
    json_body,
    png_chunk,
)

pytestmark = pytest.mark.slow  # hundreds of generated requests per test

FUZZ = settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=6)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=30,
)


def assert_answered(answer: Any, allowed: set[int] | None = None) -> None:
    assert answer.status_code < 500, answer.text
    if allowed is not None:
        assert answer.status_code in allowed, (answer.status_code, answer.text)
    if answer.status_code >= 400:
        detail = answer.json()["detail"]
        assert isinstance(detail, str) and detail
        assert "Traceback" not in answer.text
    elif answer.status_code == 200 and answer.request.url.path == "/predict":
        assert answer.json()["prediction"] in (0, 1)


def post_json(client: TestClient, body: bytes, path: str = "/predict") -> Any:
    return client.post(path, content=body, headers={"content-type": "application/json"})


# --------------------------------------------------------------------------------------------
# JSON


@FUZZ
@given(field=st.sampled_from(["image", "pixels"]), value=JSON_VALUES)
def test_any_json_value_as_image_or_pixels_gets_a_4xx(
    app_client: TestClient, field: str, value: Any
) -> None:
    assert_answered(post_json(app_client, json_body({field: value})), {413, 415, 422})


@FUZZ
@given(document=JSON_VALUES)
def test_any_json_document_gets_a_4xx(app_client: TestClient, document: Any) -> None:
    assert_answered(post_json(app_client, json_body(document)), {413, 415, 422})


@FUZZ
@given(body=st.binary(max_size=300))
def test_any_bytes_as_a_json_body_get_a_4xx(app_client: TestClient, body: bytes) -> None:
    assert_answered(post_json(app_client, body), {413, 415, 422})


PIXEL_VALUES = (
    st.floats(min_value=0, max_value=1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.sampled_from([0, 1, True, False, None, "0.5", [], {}, -0.0, 1e-320, 1.0000001])
)


def is_valid_pixel(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return 0 <= value <= 1  # False for NaN; ints are compared exactly, however large


@FUZZ
@given(
    changes=st.dictionaries(st.integers(0, 783), PIXEL_VALUES, max_size=8),
    as_rows=st.booleans(),
)
def test_pixels_are_accepted_exactly_when_all_are_numbers_in_0_1(
    app_client: TestClient, changes: dict[int, Any], as_rows: bool
) -> None:
    flat: list[Any] = [0.0] * 784
    for index, value in changes.items():
        flat[index] = value
    pixels = [flat[row * 28 : row * 28 + 28] for row in range(28)] if as_rows else flat
    answer = post_json(app_client, json_body({"pixels": pixels}))
    expected = 200 if all(is_valid_pixel(value) for value in flat) else 422
    assert_answered(answer, {expected})


@FUZZ
@given(
    rows=st.integers(0, 40),
    columns=st.integers(0, 40),
    value=st.sampled_from([0.0, 0.5, 1]),
)
def test_pixels_are_accepted_only_in_the_28_by_28_shape(
    app_client: TestClient, rows: int, columns: int, value: float
) -> None:
    pixels = [[value] * columns for _ in range(rows)]
    answer = post_json(app_client, json_body({"pixels": pixels}))
    assert_answered(answer, {200} if (rows, columns) == (28, 28) else {422})


# --------------------------------------------------------------------------------------------
# Images

MAGIC_PREFIXES = [
    b"",
    PNG_SIGNATURE,
    PNG_SIGNATURE + b"\x00\x00\x00\x0dIHDR",
    b"GIF89a",
    b"GIF87a",
    b"BM",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"RIFF\x00\x00\x00\x00WEBPVP8X",
    b"\xff\xd8\xff\xe0",
    b"II*\x00",
    b"<svg",
]


@FUZZ
@given(prefix=st.sampled_from(MAGIC_PREFIXES), rest=st.binary(max_size=400), upload=st.booleans())
def test_any_bytes_as_an_image_get_a_4xx(
    app_client: TestClient, prefix: bytes, rest: bytes, upload: bool
) -> None:
    data = prefix + rest
    if upload:
        answer = app_client.post("/predict", files={"file": ("x", data, "image/png")})
    else:
        answer = app_client.post("/predict", json={"image": data_url(data)})
    assert_answered(answer, {413, 415, 422})


REAL_IMAGES = {
    image_format: encode(canvas_drawing(1, 3), image_format)
    for image_format in ("PNG", "JPEG", "GIF", "BMP", "WEBP")
}


@FUZZ
@given(
    image_format=st.sampled_from(sorted(REAL_IMAGES)),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=6),
    cut=st.none() | st.integers(0, 10**6),
)
def test_damaged_real_images_never_break_the_server(
    app_client: TestClient, image_format: str, flips: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(REAL_IMAGES[image_format])
    for position, mask in flips:
        data[position % len(data)] ^= mask
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    answer = app_client.post("/predict", json={"image": data_url(bytes(data))})
    assert_answered(answer, {200, 413, 415, 422})


# (bit depths, colour type) pairs a PNG may have, and the samples per pixel of each type
PNG_MODES = {0: ((1, 2, 4, 8, 16), 1), 2: ((8, 16), 3), 3: ((1, 2, 4, 8), 1), 4: ((8, 16), 2),
             6: ((8, 16), 4)}


def png_with(width: int, height: int, bit_depth: int, colour_type: int, seed: int) -> bytes:
    """A PNG whose data really holds `width`×`height` pixels (when that is small)."""
    samples = PNG_MODES.get(colour_type, ((8,), 1))[1]
    row_bytes = math.ceil(width * samples * bit_depth / 8)
    if width <= 128 and height <= 128:
        pattern = bytes((seed * 37 + index * 11) % 256 for index in range(row_bytes))
        raw = b"".join(b"\x00" + pattern for _ in range(height))
    else:
        raw = b"\x00" * 256  # too little data for the claimed size
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    palette = png_chunk(b"PLTE", bytes(range(48))) if colour_type == 3 and seed % 2 else b""
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + palette
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


SIDES = st.integers(0, 80) | st.integers(0, 2**31 - 1) | st.sampled_from([64, 65, 2**32 - 1])


@FUZZ
@given(
    width=SIDES,
    height=SIDES,
    colour_type=st.sampled_from([0, 2, 3, 4, 6, 1, 5, 7]),
    depth_choice=st.integers(0, 5),
    seed=st.integers(0, 255),
)
def test_png_headers_with_any_dimensions(
    small_app_client: TestClient,
    width: int,
    height: int,
    colour_type: int,
    depth_choice: int,
    seed: int,
) -> None:
    """Through an app whose limit is 64×64: a well-formed header over the limit is always a
    413, whatever the data holds; anything else gets an answer, never an error."""
    depths = PNG_MODES.get(colour_type, ((8, 3),))[0]
    bit_depth = depths[depth_choice % len(depths)]
    data = png_with(width, height, bit_depth, colour_type, seed)
    answer = small_app_client.post("/predict", json={"image": data_url(data)})
    assert_answered(answer, {200, 413, 415, 422})
    well_formed = colour_type in PNG_MODES and 0 < width < 2**31 and 0 < height < 2**31
    if well_formed and max(width, height) > 64:
        assert answer.status_code == 413, answer.text


# --------------------------------------------------------------------------------------------
# Headers, multipart and query strings

PRINTABLE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


@FUZZ
@given(content_type=PRINTABLE, body=st.binary(max_size=200))
def test_any_content_type_gets_an_answer(
    app_client: TestClient, content_type: str, body: bytes
) -> None:
    answer = app_client.post("/predict", content=body, headers={"content-type": content_type})
    assert_answered(answer, {413, 415, 422})


@FUZZ
@given(
    boundary=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20),
    parts=st.lists(st.binary(max_size=120), max_size=4),
    tail=st.binary(max_size=60),
)
def test_any_multipart_body_gets_an_answer(
    app_client: TestClient, boundary: str, parts: list[bytes], tail: bytes
) -> None:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts) + tail
    answer = app_client.post(
        "/predict",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_answered(answer, {413, 415, 422})


@FUZZ
@given(model=st.text(max_size=30), path=PRINTABLE)
def test_any_model_name_or_path_gets_an_answer(
    app_client: TestClient, model: str, path: str
) -> None:
    assert_answered(
        app_client.post("/predict", params={"model": model}, json={"pixels": [0.0] * 784}),
        {200, 404},
    )
    assert_answered(app_client.get(f"/models/{quote(model, safe='')}"), {200, 404})
    assert_answered(app_client.get("/" + quote(path.lstrip("/"), safe="/%?=&")))


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_on_predict_get_json_405(app_client: TestClient, method: str) -> None:
    answer = app_client.request(method, "/predict")
    assert_answered(answer, {405})
