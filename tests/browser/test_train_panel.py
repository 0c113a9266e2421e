"""'Train your own' in real Chromium against a real server that has MNIST (DIGITS_DATA_DIR):
a run of the learner's 25/15 network on 0/1 started from the page, its curves and weight images
updating, and then 'Your model' reading a drawn 1; the run's settings in the page's URL; how each
model was trained. Skips without MNIST in ../shared/data.

Over 300 lines: one test per part of the panel, sharing the browser and the server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_pages import ARTIFACTS_DIR, PHONE, PageProblems, checked_page
from live_server import running_server, server_env
from page_actions import (
    ONE,
    expect,
    expect_prediction,
    open_app,
    open_app_and_draw,
    open_section,
)
from project_paths import MODEL_STORE, SHARED_DATA

from app.training_runs import RunRequest

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def training_url() -> Iterator[str]:
    if not (SHARED_DATA / "mnist.npz").is_file():
        pytest.skip(f"MNIST is not in {SHARED_DATA}")
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    with running_server(
        env=server_env(data_dir=SHARED_DATA), log_path=ARTIFACTS_DIR / "train-server.log"
    ) as server:
        yield server.url


@pytest.fixture
def train_page(browser: Any, training_url: str, problems: PageProblems) -> Iterator[Any]:
    yield from checked_page(browser, problems, base_url=training_url)


def expect_form(page: Any, **values: str) -> None:
    """Each named field of the form (its id without "train-") holds its value."""
    for name, value in values.items():
        expect(page.locator(f"#train-{name}")).to_have_value(value)


def canvas_picture(page: Any, selector: str) -> str:
    return page.eval_on_selector(selector, "canvas => canvas.toDataURL()")


def start_run(page: Any, epochs: int) -> None:
    open_section(page, "train")
    expect(page.locator("#train-form")).to_be_visible()
    page.select_option("#train-digits", "0,1")
    page.fill("#train-hidden", "25,15")
    page.fill("#train-epochs", str(epochs))
    page.click("#train-start")


def test_a_run_started_from_the_page_shows_it_learning_then_its_model_reads_a_1(
    train_page: Any, assert_accessible: Any, artifacts: Path
) -> None:
    page = train_page
    predictions: list[str] = []
    page.on("response", lambda r: predictions.append(r.url) if "/predict" in r.url else None)
    open_app_and_draw(page, ONE, "1")
    start_run(page, epochs=2)

    caption = page.locator("#train-weights-caption")
    expect(caption).to_contain_text(re.compile(r"Epoch 1, batch [1-9]"), timeout=RUN_TIMEOUT_MS)
    early_weights = canvas_picture(page, "#train-weights")
    early_loss = canvas_picture(page, "#train-loss-chart")
    expect(page.locator("#train-weights")).to_have_attribute(
        "aria-label", re.compile(r"^Weights of 25 first-layer units after [\d,]+ examples$")
    )
    expect(caption).to_contain_text("Epoch 2", timeout=RUN_TIMEOUT_MS)
    assert canvas_picture(page, "#train-weights") != early_weights  # the weights changed
    assert canvas_picture(page, "#train-loss-chart") != early_loss  # the curves grew
    # The drawing's probabilities under the weights so far, one row per class.
    expect(page.locator("#train-watch li")).to_have_count(2)

    expect(page.locator("#train-result")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#train-status")).to_contain_text("Test accuracy")
    expect(page.locator("#train-legend li")).to_have_count(1)
    your_model = page.get_by_label("Your model", exact=True)
    expect(your_model).to_be_checked()
    assert your_model.get_attribute("value").startswith("yours-0-1-")
    # Its name is for whoever trained it, and a link could not bring it back: not in the URL.
    assert "yours" not in page.evaluate("location.hash"), page.evaluate("location.hash")
    expect(page.locator("#train-download")).to_have_attribute(
        "href", f"/models/{your_model.get_attribute('value')}/download"
    )
    expect(page.locator("#train-notebook")).to_have_attribute(
        "href", f"/models/{your_model.get_attribute('value')}/notebook"
    )
    # The drawing is read again, by the new model.
    expect_prediction(page, "1")
    assert any(f"model={your_model.get_attribute('value')}" in url for url in predictions)
    expect(page.locator("#train-watch li.is-winner span").first).to_have_text("1")

    page.locator("#train").screenshot(path=str(artifacts / "train-your-own.png"))
    assert_accessible(page, "the 'Train your own' section after a run", "#train")


def test_a_convolutional_run_shows_its_kernels_forming_and_its_model_shows_feature_maps(
    train_page: Any, assert_accessible: Any, artifacts: Path
) -> None:
    page = train_page
    open_app_and_draw(page, ONE, "1")
    open_section(page, "train")
    expect(page.locator("#train-form")).to_be_visible()
    page.select_option("#train-digits", "0,1")
    page.fill("#train-conv", "4,8")
    page.fill("#train-hidden", "16")
    page.select_option("#train-activation", "relu")
    page.fill("#train-epochs", "1")
    page.check("#train-fast")
    page.locator("#train-fast").press("Tab")
    expect(page).to_have_url(re.compile(r"#train\?model=digits-0-1&digits=0,1&conv=4,8&hidden=16"))
    page.click("#train-start")

    caption = page.locator("#train-weights-caption")
    expect(caption).to_contain_text("first convolution's kernels, one 3×3 image per filter",
                                    timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#train-weights")).to_have_attribute(
        "aria-label", re.compile(r"^Kernels of 4 first-layer filters after [\d,]+ examples$")
    )
    expect(page.locator("#train-legend li").last).to_contain_text("conv 4/8")
    expect(page.locator("#train-result")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_label("Your model", exact=True)).to_be_checked()
    page.locator("#train").screenshot(path=str(artifacts / "train-your-own-cnn.png"))
    assert_accessible(page, "'Train your own' after a convolutional run", "#train")

    # Its model is a CNN: See it think shows its feature maps for the drawing.
    open_section(page, "see")
    expect(page.locator('#feature-maps .feature-map[data-layer="0"]')).to_have_count(4)
    expect(page.locator('#feature-maps .feature-map[data-layer="2"]')).to_have_count(8)
    expect_prediction(page, "1")


def test_how_it_was_trained_shows_the_models_curves_confusion_and_misread_digits(
    train_page: Any, assert_accessible: Any
) -> None:
    page = train_page
    open_app(page)
    open_section(page, "how-trained")
    page.locator('#model-switch input[value="digits-0-9"]').check()
    card = json.loads((MODEL_STORE / "digits-0-9.json").read_text())
    epochs = len(card["history"]["loss"])
    expect(page.locator("#report-summary")).to_contain_text(f"{epochs} epochs")
    expect(page.locator("#report-confusion tbody tr")).to_have_count(10)
    # The diagonal holds most of each row: 980 test 0s, nearly all read as 0.
    first_right = page.locator("#report-confusion tbody tr").first.locator("td").first
    assert int(first_right.inner_text()) > 950
    expect(page.locator("#report-misread figure")).to_have_count(24)
    expect(page.locator("#report-misread figcaption").first).to_contain_text("→")
    assert_accessible(page, "'How it was trained', ten digits", "#how-trained")


def test_without_mnist_the_panel_explains_instead_of_offering_a_button(page: Any) -> None:
    if Path.home().joinpath(".keras", "datasets", "mnist.npz").is_file():
        pytest.skip("Keras's MNIST cache is here, so this server can train")
    open_app(page)  # the shared server: no DIGITS_DATA_DIR
    open_section(page, "train")
    expect(page.locator("#train-unavailable")).to_contain_text("DIGITS_DATA_DIR")
    expect(page.locator("#train-form")).to_be_hidden()


def test_pause_step_resume_and_stop_work_like_a_player(train_page: Any) -> None:
    page = train_page
    open_app(page)
    start_run(page, epochs=20)
    status = page.locator("#train-status")
    expect(status).to_contain_text(re.compile(r"batch [1-9]"), timeout=RUN_TIMEOUT_MS)
    page.click("#train-pause")
    expect(status).to_contain_text("(paused)")
    expect(page.locator("#train-pause")).to_be_disabled()
    page.wait_for_timeout(1000)  # what was on its way has arrived, with where it paused
    held = page.locator("#train-weights-caption").inner_text()
    page.wait_for_timeout(1000)
    assert page.locator("#train-weights-caption").inner_text() == held  # nothing moves
    page.click("#train-step")
    expect(page.locator("#train-weights-caption")).not_to_have_text(held)
    expect(status).to_contain_text("(paused)")
    page.click("#train-resume")
    expect(page.locator("#train-pause")).to_be_enabled()
    page.click("#train-stop")
    expect(status).to_contain_text("You stopped it early", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#train-start")).to_be_enabled()


def test_the_form_starts_from_the_servers_quick_run(train_page: Any) -> None:
    quick_run = RunRequest().as_message()  # what the socket does when a client names nothing
    page = train_page
    page.goto("/#train")
    expect(page.locator("#train-form")).to_be_visible()
    expect_form(
        page,
        digits=quick_run["digits"],
        hidden=",".join(map(str, quick_run["hidden"])),
        activation=quick_run["activation"],
        epochs=str(quick_run["epochs"]),
        rate=str(quick_run["learning_rate"]),
    )
    expect(page.locator("#train-fast")).not_to_be_checked()


def test_the_runs_settings_live_in_the_url(train_page: Any) -> None:
    page = train_page
    page.goto(
        "/#train?digits=0-9&hidden=64,32&activation=relu&epochs=3&learning_rate=0.01&pace=fast"
    )
    expect(page.locator("#train-form")).to_be_visible()
    expect_form(page, digits="0-9", hidden="64,32", activation="relu", epochs="3", rate="0.01")
    expect(page.locator("#train-fast")).to_be_checked()

    # What the form itself would refuse keeps the value it had.
    page.goto("/#train?hidden=1,2,3,4,5&activation=softplus&epochs=999&learning_rate=-1&pace=x")
    expect(page.locator("#train-form")).to_be_visible()
    expect_form(page, hidden="64,32", activation="relu", epochs="3", rate="0.01")
    expect(page.locator("#train-fast")).to_be_checked()

    # A change is written to the URL, and a reload starts from it.
    page.select_option("#train-activation", "tanh")
    page.fill("#train-epochs", "7")
    page.locator("#train-epochs").press("Tab")
    expect(page).to_have_url(
        re.compile(
            r"#train\?model=digits-0-1&digits=0-9&hidden=64,32"
            r"&activation=tanh&epochs=7&learning_rate=0\.01&optimizer=adam&initializer=glorot"
            r"&l2=0&dropout=0&pace=fast$"  # all training digits: no train_examples
        )
    )
    page.reload()
    expect(page.locator("#train-form")).to_be_visible()
    expect(page.locator("#train-activation")).to_have_value("tanh")
    expect(page.locator("#train-epochs")).to_have_value("7")

    # Away and back through the plain link: the URL says the knobs the form still has.
    open_section(page, "see")
    open_section(page, "train")
    expect(page).to_have_url(re.compile(r"#train\?model=digits-0-1&.*activation=tanh&epochs=7"))


# ---------------------------------------------------------------- the training lab
def start_experiment(page: Any, experiment: str) -> None:
    open_section(page, "train")
    expect(page.locator("#train-form")).to_be_visible()
    page.click(f'[data-experiment="{experiment}"]')
    expect(page.locator("#lab-look")).to_be_visible()


def test_rate_too_high_diverges_and_its_fix_starts_a_run_that_learns(
    train_page: Any, assert_accessible: Any
) -> None:
    page = train_page
    open_app(page)
    start_experiment(page, "rate-too-high")
    expect(page.locator("#lab-look")).to_contain_text("what to look for")
    alert = page.locator('#lab-alerts li[data-kind="diverged"]')
    expect(alert).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#train-status")).to_contain_text("Diverged")
    expect(page.locator("#train-status")).to_contain_text("no model was kept")
    expect(page.locator("#train-result")).to_be_hidden()
    assert "Your model" not in page.locator("#model-switch").inner_text()
    assert_accessible(page, "the training lab after a run diverged", "#train")

    fix = alert.get_by_role("button")
    expect(fix).to_have_text("Try learning rate 1")
    fix.click()
    expect(page.locator("#train-rate")).to_have_value("1")
    expect(page.locator("#train-optimizer")).to_have_value("sgd")
    expect(page).to_have_url(re.compile(r"learning_rate=1&optimizer=sgd"))
    expect(page.locator("#train-result")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#train-legend li")).to_have_count(2)
    expect(page.get_by_label("Your model", exact=True)).to_be_checked()


def test_four_sigmoid_layers_then_four_relu_layers_show_the_vanishing_gradient(
    train_page: Any, assert_accessible: Any, artifacts: Path
) -> None:
    page = train_page
    open_app(page)
    start_experiment(page, "sigmoid-vs-relu")
    vanishing = page.locator('#lab-alerts li[data-kind="vanishing_gradient"]')
    expect(vanishing).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(vanishing).to_contain_text("hidden_1")
    expect(page.locator("#lab-layers .lab-layer")).to_have_count(5)
    expect(page.locator('#lab-layers [data-layer="hidden_1"]')).to_contain_text("Vanishing")
    expect(page.locator('#lab-layers [data-layer="hidden_1"]')).to_contain_text("sigmoid units")
    histogram = '#lab-layers [data-layer="hidden_1"] canvas'
    early = canvas_picture(page, histogram)
    # The second run, ReLU, starts by itself and joins the charts; its alerts start afresh.
    expect(page.locator("#train-legend li")).to_have_count(2, timeout=RUN_TIMEOUT_MS)
    expect(page.locator('#lab-layers [data-layer="hidden_1"]')).to_contain_text(
        "relu units", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#train-result")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#train-legend li")).to_have_count(2)
    assert canvas_picture(page, histogram) != early  # the histograms moved
    expect(page.locator('#lab-alerts li[data-kind="vanishing_gradient"]')).to_have_count(0)
    expect(page.locator("#lab-layers")).to_contain_text("% dead")
    expect(page.locator("#lab-gradient-chart")).to_be_visible()
    page.locator("#train").screenshot(path=str(artifacts / "training-lab.png"))
    assert_accessible(page, "the training lab after sigmoid vs ReLU", "#train")


def test_the_labs_knobs_live_in_the_url_and_the_form_refuses_what_the_socket_would(
    train_page: Any,
) -> None:
    page = train_page
    page.goto("/#train?optimizer=momentum&initializer=zeros&l2=0.01&dropout=0.5"
              "&train_examples=300&learning_rate=10")
    expect(page.locator("#train-form")).to_be_visible()
    knobs = {"optimizer": "momentum", "initializer": "zeros", "l2": "0.01", "dropout": "0.5",
             "examples": "300"}
    expect_form(page, **knobs, rate="10")
    # What the form would refuse keeps the value it had.
    page.goto("/#train?optimizer=rmsprop&initializer=ones&l2=1&dropout=0.9&train_examples=5")
    expect(page.locator("#train-form")).to_be_visible()
    expect_form(page, **knobs)
    page.select_option("#train-initializer", "he")
    expect(page).to_have_url(re.compile(r"initializer=he&l2=0\.01&dropout=0\.5&train_examples=300"))


def test_an_experiment_starts_from_the_keyboard_and_the_lab_fits_a_phone(
    browser: Any, training_url: str, problems: PageProblems, assert_accessible: Any
) -> None:

    for page in checked_page(browser, problems, base_url=training_url, viewport=PHONE,
                             has_touch=True, is_mobile=True):
        open_app(page)
        open_section(page, "train")
        expect(page.locator("#train-form")).to_be_visible()
        button = page.locator('[data-experiment="zero-initialisation"]')
        button.focus()
        page.keyboard.press("Enter")
        symmetric = page.locator('#lab-alerts li[data-kind="symmetric"]').first
        expect(symmetric).to_be_visible(timeout=RUN_TIMEOUT_MS)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide on a phone"
        assert_accessible(page, "the training lab on a phone", "#train")
        # The fix, pressed while the run goes on: it stops, and the next run starts with it.
        fix = symmetric.get_by_role("button")
        expect(fix).to_have_text("Try initializer glorot")
        fix.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#train-initializer")).to_have_value("glorot", timeout=RUN_TIMEOUT_MS)
        expect(page.locator("#train-legend li")).to_have_count(2, timeout=RUN_TIMEOUT_MS)
        expect(page.locator("#train-result")).to_be_visible(timeout=RUN_TIMEOUT_MS)
        expect(page.locator('#lab-alerts li[data-kind="symmetric"]')).to_have_count(0)
