"""Every kind of bad /predict request gets a 4xx whose JSON `detail` says what to fix."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pixel_lists import flat_with, rows_with
from robustness_samples import canvas_drawing, data_url, encode, json_body

ROW = [0.0] * 28
GOOD_PIXELS = [list(ROW) for _ in range(28)]


PNG_ZERO = encode(canvas_drawing(0))
BLANK_CANVAS = encode(Image.new("RGBA", (280, 280), (0, 0, 0, 0)))
CORRUPT_PNG = PNG_ZERO[:60] + bytes(b ^ 0x5A for b in PNG_ZERO[60:200]) + PNG_ZERO[200:]
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><circle r="9"/></svg>'
TIFF = encode(Image.new("L", (28, 28), 255), "TIFF")


def assert_clear_error(answer: Any, status: int, *words: str) -> str:
    """The answer has `status`, a JSON string `detail` holding `words`, and no traceback."""
    assert answer.status_code == status, (answer.status_code, answer.text)
    assert answer.headers["content-type"].startswith("application/json")
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and detail, answer.text
    for word in words:
        assert word.lower() in detail.lower(), (word, detail)
    assert "Traceback" not in answer.text and 'File "' not in answer.text
    return detail


# JSON bodies: (raw body, status, words the detail must hold)
JSON_CASES: list[tuple[str, bytes, int, tuple[str, ...]]] = [
    ("malformed JSON", b'{"pixels": [1, 2', 422, ("not valid JSON",)),
    ("not JSON at all", b"hello", 422, ("not valid JSON",)),
    ("invalid UTF-8", b'{"image": "\xff\xfe"}', 422, ("not valid JSON",)),
    ("trailing garbage", b'{"image": "aGk="} x', 422, ("not valid JSON",)),
    ("nested too deep", b"[" * 5000 + b"]" * 5000, 422, ("not valid JSON",)),
    ("500,000 values", b'{"pixels": [' + b"[0]," * 500_000 + b"[0]]}", 422, ("commas", "784")),
    ("empty body", b"", 422, ("empty", "image", "pixels")),
    ("only whitespace", b"  \n ", 422, ("empty",)),
    ("a JSON array", b"[1, 2]", 422, ("JSON object", "not an array", "multipart")),
    ("a JSON string", b'"iVBOR"', 422, ("JSON object", "not a string")),
    ("JSON null", b"null", 422, ("JSON object", "null")),
    ("a JSON number", b"3", 422, ("JSON object", "number")),
    ("neither field", b"{}", 422, ("exactly one of 'image' or 'pixels'",)),
    ("both null", b'{"image": null, "pixels": null}', 422, ("'image' is null", "'pixels' is null")),
    ("null beside an image", b'{"image": "aGk=", "pixels": null}', 422, ("'pixels' is null",)),
    ("both fields", json_body({"image": "aGk=", "pixels": GOOD_PIXELS}), 422, ("exactly one",)),
    ("unknown field", b'{"image": "aGk=", "colour": 1}', 422, ("unknown field 'colour'",)),
    ("misspelt field", b'{"pixel": []}', 422, ("unknown field 'pixel'",)),
    ("image a number", b'{"image": 5}', 422, ("'image' must be a string", "data URL")),
    ("image a list", b'{"image": ["aGk="]}', 422, ("'image' must be a string",)),
    ("image an object", b'{"image": {"data": "aGk="}}', 422, ("'image' must be a string",)),
    ("image a boolean", b'{"image": true}', 422, ("'image' must be a string",)),
    ("pixels a string", b'{"pixels": "0,0,0"}', 422, ("pixels must be 28 rows", "784", "str")),
    ("pixels an object", b'{"pixels": {"0": 1}}', 422, ("pixels must be 28 rows", "dict")),
    ("pixels a number", b'{"pixels": 0}', 422, ("pixels must be 28 rows", "int")),
    ("pixels empty", b'{"pixels": []}', 422, ("28 rows of 28", "empty list")),
    ("27 rows", json_body({"pixels": GOOD_PIXELS[:27]}), 422, ("28 rows of 28", "27 rows")),
    ("29 rows", json_body({"pixels": [*GOOD_PIXELS, ROW]}), 422, ("28 rows of 28", "29 rows")),
    ("short row", json_body({"pixels": [*GOOD_PIXELS[:27], ROW[:27]]}), 422, ("different",)),
    ("rows of 27", json_body({"pixels": [ROW[:27]] * 28}), 422, ("28 rows of 28", "rows of 27")),
    ("783 values", json_body({"pixels": [0.0] * 783}), 422, ("784", "flat list of 783")),
    ("785 values", json_body({"pixels": [0.0] * 785}), 422, ("784", "flat list of 785")),
    ("3 levels deep", json_body({"pixels": [[[0.0]] * 28] * 28}), 422, ("nested",)),
    ("rows and numbers", json_body({"pixels": [ROW, *[0.0] * 27]}), 422, ("28 rows of 28",)),
    ("a value of -0.1", json_body({"pixels": rows_with(-0.1)}), 422, ("between 0", "row 3")),
    ("a value of 1.5", json_body({"pixels": rows_with(1.5, 3, 5)}), 422, ("between 0", "column 5")),
    ("a value of 255", json_body({"pixels": flat_with(255)}), 422, ("between 0", "index 100")),
    ("NaN", json_body({"pixels": rows_with(float("nan"))}), 422, ("finite", "row 3")),
    ("Infinity", json_body({"pixels": flat_with(float("inf"))}), 422, ("finite",)),
    ("-Infinity", json_body({"pixels": rows_with(float("-inf"))}), 422, ("finite",)),
    ("1e400", b'{"pixels": [' + b"0," * 783 + b"1e400]}", 422, ("finite",)),
    ("a huge integer", b'{"pixels": [' + b"0," * 783 + b"9" * 400 + b"]}", 422, ("between 0",)),
    ("a string value", json_body({"pixels": rows_with("0.5")}), 422, ("numbers", "'0.5'")),
    ("a null value", json_body({"pixels": flat_with(None)}), 422, ("numbers", "None")),
    ("a boolean value", json_body({"pixels": rows_with(True)}), 422, ("numbers", "True")),
    ("an object value", json_body({"pixels": flat_with({})}), 422, ("numbers",)),
    ("bad base64", b'{"image": "!!!not base64"}', 422, ("not valid base64", "data URL")),
    ("base64 unpadded", b'{"image": "aGVsbG8"}', 422, ("not valid base64", "padding")),
    ("non-ASCII base64", '{"image": "aGk=é"}'.encode(), 422, ("not valid base64",)),
    ("data URL not base64", b'{"image": "data:image/png,abc"}', 422, ("must be base64",)),
    ("data URL no comma", b'{"image": "data:image/png;base64"}', 422, ("must be base64",)),
    ("empty image", b'{"image": ""}', 422, ("holds no image",)),
    ("empty data URL", b'{"image": "data:image/png;base64,"}', 422, ("holds no image",)),
    ("not an image", json_body({"image": data_url(b"hello, world")}), 415, ("PNG, JPEG",)),
    ("an SVG", json_body({"image": data_url(SVG, "image/svg+xml")}), 415, ("PNG, JPEG",)),
    ("a TIFF", json_body({"image": data_url(TIFF, "image/tiff")}), 415, ("PNG, JPEG",)),
    ("truncated PNG", json_body({"image": data_url(PNG_ZERO[:150])}), 415, ("truncated",)),
    ("corrupt PNG", json_body({"image": data_url(CORRUPT_PNG)}), 415, ("corrupt",)),
    ("blank canvas", json_body({"image": data_url(BLANK_CANVAS)}), 422, ("drawing is empty",)),
    ("blank pixels", json_body({"pixels": GOOD_PIXELS}), 200, ()),
]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [case[1:] for case in JSON_CASES],
    ids=[case[0] for case in JSON_CASES],
)
def test_bad_json_request_gets_a_clear_4xx(
    app_client: TestClient, body: bytes, status: int, words: tuple[str, ...]
) -> None:
    answer = app_client.post(
        "/predict", content=body, headers={"content-type": "application/json"}
    )
    if status == 200:  # the control: all-zero pixels are a valid (if blank) MNIST input
        assert answer.status_code == 200, answer.text
        return
    assert_clear_error(answer, status, *words)


MULTIPART_CASES: list[tuple[str, dict[str, Any], int, tuple[str, ...]]] = [
    ("empty file", {"files": {"file": ("d.png", b"", "image/png")}}, 422, ("empty",)),
    ("text file", {"files": {"file": ("d.txt", b"hello", "text/plain")}}, 415, ("PNG, JPEG",)),
    (
        "truncated PNG file",
        {"files": {"file": ("d.png", PNG_ZERO[:100], "image/png")}},
        415,
        ("truncated",),
    ),
    (
        "no file field",
        {"files": {"image": ("d.png", PNG_ZERO, "image/png")}},
        422,
        ("the field 'file' is missing", "unknown field 'image'"),
    ),
    ("file as text", {"files": {"file": (None, b"iVBORw0KGgo")}}, 422, ("must be a file",)),
    (
        "two files",
        {"files": [("file", ("a.png", PNG_ZERO, "image/png"))] * 2},
        422,
        ("cannot be parsed", "files"),
    ),
]


@pytest.mark.parametrize(
    ("request_args", "status", "words"),
    [case[1:] for case in MULTIPART_CASES],
    ids=[case[0] for case in MULTIPART_CASES],
)
def test_bad_multipart_request_gets_a_clear_4xx(
    app_client: TestClient, request_args: dict[str, Any], status: int, words: tuple[str, ...]
) -> None:
    assert_clear_error(app_client.post("/predict", **request_args), status, *words)


@pytest.mark.parametrize(
    ("content_type", "body", "status", "words"),
    [
        ("multipart/form-data", b"--x\r\n", 422, ("cannot be parsed", "boundary")),
        ("multipart/form-data; boundary=x", b"garbage", 422, ("cannot be parsed",)),
        ("multipart/form-data; boundary=x", b"", 422, ("'file'",)),
        ("text/plain", b'{"image": "aGk="}', 415, ("application/json", "'text/plain'")),
        ("application/x-www-form-urlencoded", b"image=aGk%3D", 415, ("multipart/form-data",)),
        ("image/png", PNG_ZERO, 415, ("multipart/form-data", "'file'")),
        ("", b'{"image": "aGk="}', 415, ("no Content-Type",)),
    ],
    ids=["no boundary", "garbage", "no parts", "text", "form", "raw png", "no type"],
)
def test_wrong_or_broken_content_type_gets_a_clear_4xx(
    app_client: TestClient, content_type: str, body: bytes, status: int, words: tuple[str, ...]
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    answer = app_client.post("/predict", content=body, headers=headers)
    assert_clear_error(answer, status, *words)


def test_unknown_model_name_gets_404_naming_the_known_ones(app_client: TestClient) -> None:
    answer = app_client.post("/predict?model=digits-0-7", json={"pixels": GOOD_PIXELS})
    assert_clear_error(answer, 404, "no model named 'digits-0-7'", "digits-0-1")
    assert_clear_error(app_client.get("/models/nope"), 404, "no model named 'nope'")
