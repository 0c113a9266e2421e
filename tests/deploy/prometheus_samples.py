"""Reading a /metrics answer with prometheus-client's own parser, for the tests of tests/deploy/."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of a Prometheus text-format answer: (name, labels, value)."""
    return [
        (sample.name, dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def value(text: str, name: str, **labels: str) -> float:
    """The sample called `name` with exactly these labels; 0 when there is none yet (a counter
    that has not counted anything is not shown)."""
    found = [v for n, sample_labels, v in samples(text) if n == name and sample_labels == labels]
    assert len(found) <= 1, f"{name}{labels} appears {len(found)} times"
    return found[0] if found else 0.0


def label_values(text: str, name: str, label: str) -> set[str]:
    return {labels[label] for n, labels, _ in samples(text) if n == name and label in labels}
