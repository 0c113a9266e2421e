"""GET /metrics on the real app in-process: what a Prometheus scrape sees after some requests."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_samples import label_values, samples, value

from app.settings import Settings

REQUESTS = "digits_http_requests_total"
LATENCY = "digits_http_request_duration_seconds"
PREDICTIONS = "digits_predictions_total"
OUT_OF_RANGE_PIXELS = [[2.0] * 28 for _ in range(28)]  # pixels must lie in [0, 1]
A_ONE = [[1.0 if 12 <= column <= 15 and 4 <= row <= 23 else 0.0 for column in range(28)]
         for row in range(28)]


@pytest.fixture(scope="module")
def client(shipped_app: TestClient) -> TestClient:
    return shipped_app


def scrape(client: TestClient) -> str:
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    return answer.text


def test_metrics_answer_in_the_prometheus_text_format(client: TestClient) -> None:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {family.name: family.type for family in text_string_to_metric_families(answer.text)}
    assert families["digits_http_requests"] == "counter"
    assert families["digits_http_request_duration_seconds"] == "histogram"
    assert families["digits_predictions"] == "counter"
    assert families["digits_training_runs_in_progress"] == "gauge"


def test_requests_are_counted_per_route_template_and_status(client: TestClient) -> None:
    before = scrape(client)
    assert client.get("/models/digits-0-9").status_code == 200
    assert client.get("/models/digits-0-9").status_code == 200
    assert client.get("/models/no-such-model").status_code == 404
    after = scrape(client)
    route = "/models/{name}"
    for status, added in (("200", 2), ("404", 1)):
        labels = {"method": "GET", "route": route, "status": status}
        assert value(after, REQUESTS, **labels) - value(before, REQUESTS, **labels) == added
    # The template, never the path the client sent: clients cannot make up labels.
    assert not {"/models/digits-0-9", "/models/no-such-model"} & label_values(
        after, REQUESTS, "route"
    )


def test_each_request_is_timed_in_the_latency_histogram(client: TestClient) -> None:
    labels = {"method": "GET", "route": "/healthz", "status": "200"}
    before = scrape(client)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    after = scrape(client)
    assert value(after, f"{LATENCY}_count", **labels) - value(
        before, f"{LATENCY}_count", **labels
    ) == 3
    assert value(after, f"{LATENCY}_sum", **labels) > value(before, f"{LATENCY}_sum", **labels)
    # Every request took longer than nothing and less than the largest finite bucket.
    assert value(after, f"{LATENCY}_bucket", **labels, le="+Inf") == value(
        after, f"{LATENCY}_count", **labels
    )
    assert value(after, f"{LATENCY}_bucket", **labels, le="10.0") == value(
        after, f"{LATENCY}_count", **labels
    )


def test_paths_no_route_has_share_one_label(client: TestClient) -> None:
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    before = value(scrape(client), REQUESTS, **labels)
    for path in ("/no/such/page", "/another-1", "/another-2"):
        assert client.get(path).status_code == 404
    after = scrape(client)
    assert value(after, REQUESTS, **labels) - before == 3
    assert not {"/no/such/page", "/another-1"} & label_values(after, REQUESTS, "route")


def test_static_files_are_counted_under_their_mount(client: TestClient) -> None:
    labels = {"method": "GET", "route": "/static/{path}", "status": "404"}
    before = value(scrape(client), REQUESTS, **labels)
    assert client.get("/static/no-such-file.css").status_code == 404
    assert value(scrape(client), REQUESTS, **labels) - before == 1


def test_a_body_refused_before_routing_counts_under_its_route(client: TestClient) -> None:
    labels = {"method": "POST", "route": "/predict", "status": "413"}
    before = value(scrape(client), REQUESTS, **labels)
    too_large = b"0" * (Settings().max_body_bytes + 1)
    answer = client.post("/predict", content=too_large, headers={"content-type": "text/plain"})
    assert answer.status_code == 413
    assert value(scrape(client), REQUESTS, **labels) - before == 1


def test_predictions_are_counted_per_model(client: TestClient) -> None:
    before = scrape(client)
    assert client.post("/predict", json={"pixels": A_ONE}).status_code == 200
    assert client.post("/predict?model=digits-0-9", json={"pixels": A_ONE}).status_code == 200
    assert client.post("/predict?model=digits-0-9", json={"pixels": A_ONE}).status_code == 200
    after = scrape(client)
    default_model = Settings().default_model
    assert value(after, PREDICTIONS, model=default_model) - value(
        before, PREDICTIONS, model=default_model
    ) == 1
    assert value(after, PREDICTIONS, model="digits-0-9") - value(
        before, PREDICTIONS, model="digits-0-9"
    ) == 2


def test_predictions_of_models_trained_from_the_page_share_one_label(
    client: TestClient,
) -> None:
    """Each training run names its model anew: one label for them all keeps the series few."""
    state = client.app.state  # type: ignore[attr-defined]
    trained = replace(state.registry.get(None), name="trained-for-this-test")
    state.temporary_models.add(trained, keras_file=b"")
    before = value(scrape(client), PREDICTIONS, model="temporary")
    answer = client.post("/predict?model=trained-for-this-test", json={"pixels": A_ONE})
    assert answer.status_code == 200, answer.text
    after = scrape(client)
    assert value(after, PREDICTIONS, model="temporary") - before == 1
    assert "trained-for-this-test" not in label_values(after, PREDICTIONS, "model")


def test_a_refused_drawing_is_no_prediction(client: TestClient) -> None:
    before = scrape(client)
    assert client.post("/predict", json={"pixels": OUT_OF_RANGE_PIXELS}).status_code == 422
    assert client.post("/predict?model=no-such-model", json={"pixels": A_ONE}).status_code == 404
    after = scrape(client)
    assert _all_predictions(after) == _all_predictions(before)
    assert "no-such-model" not in label_values(after, PREDICTIONS, "model")


def _all_predictions(text: str) -> float:
    return sum(v for name, _, v in samples(text) if name == PREDICTIONS)


def test_no_training_run_is_in_progress(client: TestClient) -> None:
    assert value(scrape(client), "digits_training_runs_in_progress") == 0


def test_metrics_stay_out_of_the_api_documentation(client: TestClient) -> None:
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]
