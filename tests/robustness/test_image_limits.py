"""Image dimensions: refused with 413 from the header, before a pixel is decoded."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from live_server import RunningServer
from PIL import Image, ImageDraw
from robustness_samples import CLAIMING_HUGE, data_url, encode, png_claiming

MiB = 1024 * 1024


@pytest.mark.parametrize("image_format", sorted(CLAIMING_HUGE))
def test_a_tiny_file_claiming_20000_pixels_a_side_is_refused_at_once(
    http: httpx.Client, server: RunningServer, image_format: str
) -> None:
    data = CLAIMING_HUGE[image_format](20_000, 20_000)
    assert len(data) < 1024  # a few hundred bytes that claim 400 million pixels
    before = server.rss_bytes
    answers = [
        http.post("/predict", json={"image": data_url(data)}),
        http.post("/predict", files={"file": ("huge", data, "application/octet-stream")}),
    ]
    grown = server.rss_bytes - before
    for answer in answers:
        assert answer.status_code == 413, answer.text
        detail = answer.json()["detail"]
        assert "too large" in detail and "4096×4096" in detail, detail
    # 20000×20000 RGB would be 1.2 GB; a decoded one would show here.
    assert grown < 20 * MiB, f"RSS grew {grown / MiB:.1f} MiB"
    server.assert_alive()


def test_the_server_memory_does_not_jump_over_many_huge_claims(
    http: httpx.Client, server: RunningServer
) -> None:
    before = server.rss_bytes
    for side in range(20_000, 20_050):
        answer = http.post("/predict", json={"image": data_url(png_claiming(side, side))})
        assert answer.status_code == 413
    grown = server.rss_bytes - before
    assert grown < 20 * MiB, f"RSS grew {grown / MiB:.1f} MiB over 50 refusals"


@pytest.mark.parametrize(
    ("width", "height"), [(20_000, 1), (1, 20_000), (4097, 16), (16, 4097), (2**31 - 1, 2**31 - 1)]
)
def test_either_side_over_the_limit_is_refused(
    app_client: TestClient, width: int, height: int
) -> None:
    answer = app_client.post("/predict", json={"image": data_url(png_claiming(width, height))})
    assert answer.status_code == 413, answer.text
    assert "4096×4096" in answer.json()["detail"]


def drawn_one(width: int, height: int) -> bytes:
    image = Image.new("L", (width, height), 255)
    ImageDraw.Draw(image).line(
        (width // 2, height // 5, width // 2, height * 4 // 5), fill=0, width=max(2, width // 12)
    )
    return encode(image)


def test_an_image_at_the_default_limit_is_accepted(app_client: TestClient) -> None:
    upload = {"file": ("one.png", drawn_one(4096, 4096), "image/png")}
    answer = app_client.post("/predict", files=upload)
    assert answer.status_code == 200, answer.text
    assert answer.json()["prediction"] == 1


@pytest.mark.parametrize(
    ("size", "status"), [((64, 64), 200), ((64, 40), 200), ((65, 64), 413), ((64, 65), 413)]
)
def test_the_image_limit_is_set_by_the_environment(
    small_app_client: TestClient, size: tuple[int, int], status: int
) -> None:
    answer = small_app_client.post("/predict", json={"image": data_url(drawn_one(*size))})
    assert answer.status_code == status, answer.text
    if status == 413:
        assert "64×64" in answer.json()["detail"]
