"""A Jupyter notebook that rebuilds a served dense network in NumPy: GET /models/{name}/notebook.

The learner opens it beside the model's `.keras` file (the download). Top to bottom it: loads the
trained weights; turns MNIST into the tensors the network reads; runs the forward pass in NumPy
and checks it against Keras; derives the backward pass by hand and checks it against
`tf.GradientTape`; and trains the same architecture from scratch with mini-batch gradient
descent, ending with `test accuracy: <fraction>`. Every step is a markdown cell with the maths
and this network's shapes, then the code.

The code imports only what the learner has (NumPy, Keras, TensorFlow): nothing of this project.
Only the first code cell (the model's file, digits and training settings) and the markdown's
shapes depend on the model; the rest is the same for every dense network.

Over 300 lines because the notebook is written here in the order the learner reads it, each
markdown cell beside the code it explains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from app.model_registry import LoadedModel
from core.network import DenseLayer


class NotebookUnavailableError(ValueError):
    """The model is not one the notebook can rebuild; the message says why."""


# What the notebook's own code computes (its forward, backward and from-scratch training).
_ACTIVATIONS = ("sigmoid", "relu", "tanh", "linear")
# Plain gradient descent needs a far larger step through sigmoid layers (whose slope is at most
# 1/4) than through relu or tanh ones; these reach MNIST's floors in a few epochs.
_LEARNING_RATE = {"sigmoid": 0.5, "relu": 0.1, "tanh": 0.1, "linear": 0.01}
_BATCH_SIZE = 64
# Training from scratch should take a minute or less on a laptop: as many epochs as fit about this
# many multiply-adds (3 × examples × weights: the forward pass and two products back), at most
# _MAX_EPOCHS (the 0/1 network is past 99.8% on training digits after one).
_TRAINING_BUDGET = 3e11
_MAX_EPOCHS = 5
_EXAMPLES_PER_DIGIT = 6000  # MNIST has ~6,000 training images of each digit


@dataclass(frozen=True)
class _Shapes:
    """The network's sizes, as the markdown cells quote them."""

    inputs: int
    layers: tuple[DenseLayer, ...]

    def chain(self, batch: str = "1") -> str:
        sizes = [self.inputs, *(layer.units for layer in self.layers)]
        return " → ".join(f"({batch}, {size})" for size in sizes)

    def architecture(self) -> str:
        return " → ".join(
            [str(self.inputs), *(f"{layer.units} ({layer.activation})" for layer in self.layers)]
        )


def model_notebook(model: LoadedModel) -> nbformat.NotebookNode:
    """The notebook for `model`; NotebookUnavailableError if it is not a dense network with a
    sigmoid or softmax output over digit classes."""
    layers = _dense_layers(model)
    digits = _digits(model)
    shapes = _Shapes(inputs=int(layers[0].weights.shape[0]), layers=layers)
    hidden = layers[:-1]
    hidden_activation = hidden[0].activation if hidden else layers[-1].activation
    weights = sum(layer.weights.size for layer in layers)
    epochs = min(
        _MAX_EPOCHS,
        max(1, math.floor(_TRAINING_BUDGET / (3 * weights * _EXAMPLES_PER_DIGIT * len(digits)))),
    )
    settings = _SETTINGS.format(
        file=f"{model.name}.keras",
        digits=digits,
        epochs=epochs,
        batch_size=_BATCH_SIZE,
        learning_rate=_LEARNING_RATE.get(hidden_activation, 0.1),
    )
    cells = [
        new_markdown_cell(_introduction(model, shapes, digits)),
        new_code_cell(settings),
        new_markdown_cell(_weights_text(shapes)),
        new_code_cell(_LOAD_MODEL),
        new_markdown_cell(_tensors_text(shapes, digits)),
        new_code_cell(_LOAD_MNIST),
        new_markdown_cell(_forward_text(shapes)),
        new_code_cell(_FORWARD),
        new_markdown_cell(_notations_text(shapes)),
        new_code_cell(_NOTATIONS),
        new_markdown_cell(_FORWARD_CHECK_TEXT),
        new_code_cell(_FORWARD_CHECK),
        new_markdown_cell(_backward_text(shapes)),
        new_code_cell(_BACKWARD),
        new_markdown_cell(_BACKWARD_CHECK_TEXT),
        new_code_cell(_BACKWARD_CHECK),
        new_markdown_cell(_from_scratch_text(shapes)),
        new_code_cell(_FROM_SCRATCH),
        new_markdown_cell(_TEST_TEXT),
        new_code_cell(_TEST),
    ]
    notebook = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(notebook)
    return notebook


def _dense_layers(model: LoadedModel) -> tuple[DenseLayer, ...]:
    layers = tuple(model.layers)
    kinds = {getattr(layer, "kind", type(layer).__name__) for layer in layers}
    if not layers or not all(isinstance(layer, DenseLayer) for layer in layers):
        raise NotebookUnavailableError(
            f"the notebook rebuilds dense networks (MLPs) only; {model.name} has "
            f"{', '.join(sorted(kinds))} layers"
        )
    for layer in layers[:-1]:
        if layer.activation not in _ACTIVATIONS:
            raise NotebookUnavailableError(
                f"the notebook has no {layer.activation} hidden layers ({model.name}'s "
                f"{layer.name}); it knows {', '.join(_ACTIVATIONS)}"
            )
    output = layers[-1]
    if not (
        (output.activation == "sigmoid" and output.units == 1 and len(model.classes) == 2)
        or output.activation == "softmax"
    ):
        raise NotebookUnavailableError(
            f"the notebook needs one sigmoid output unit or a softmax; {model.name} has "
            f"{output.units} {output.activation} units"
        )
    return layers


def _digits(model: LoadedModel) -> list[int]:
    if not all(label.isdigit() and len(label) == 1 for label in model.classes):
        raise NotebookUnavailableError(
            f"the notebook trains on MNIST digits; {model.name}'s classes are "
            f"{', '.join(model.classes)}"
        )
    return [int(label) for label in model.classes]


# --------------------------------------------------------------------------------------------
# The cells, in order


def _introduction(model: LoadedModel, shapes: _Shapes, digits: list[int]) -> str:
    digit_list = ", ".join(str(d) for d in digits[:-1]) + f" and {digits[-1]}"
    return f"""# {model.name}: from Keras to your own NumPy

This notebook opens the network **{model.name}** that digit-lens serves, a dense network
{shapes.architecture()} that tells the MNIST digits {digit_list} apart, and rebuilds it in NumPy:

1. the trained weights, out of the `.keras` file;
2. MNIST as tensors: one row per drawing;
3. the forward pass in NumPy, in three notations, checked against Keras;
4. the backward pass derived by hand, checked against `tf.GradientTape`;
5. the same architecture trained from scratch with mini-batch gradient descent, no Keras.

Put `{model.name}.keras` beside this notebook: the app's download
(`GET /models/{model.name}/download`) is a zip holding it. MNIST comes from the folder named by
the environment variable `DIGITS_DATA_DIR` (`mnist.npz` or the four IDX files) when it is set,
and otherwise from `keras.datasets.mnist`, which downloads it once."""


_SETTINGS = """\
import gzip
import os
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

MODEL_FILE = "{file}"  # beside this notebook (unzip the app's download here)
DIGITS = {digits}  # the MNIST digits the model tells apart, in the order of its classes
DATA_DIR = os.environ.get("DIGITS_DATA_DIR")  # None: keras.datasets.mnist downloads MNIST
np.set_printoptions(precision=4, suppress=True)  # arrays printed short

# Section 5, training from scratch: plain mini-batch gradient descent.
EPOCHS = {epochs}
BATCH_SIZE = {batch_size}
LEARNING_RATE = {learning_rate}
SEED = 0"""


def _weights_text(shapes: _Shapes) -> str:
    rows = "\n".join(
        f"| {layer.name} | ({layer.weights.shape[0]}, {layer.units}) | ({layer.units},) "
        f"| {layer.activation} |"
        for layer in shapes.layers
    )
    return f"""## 1. The trained network, out of its `.keras` file

Keras keeps each Dense layer as a *kernel* $W$ of shape (inputs, units) and a bias $b$ of shape
(units,). `layer.get_weights()` gives both as NumPy arrays:

| layer | $W$ | $b$ | activation $g$ |
|---|---|---|---|
{rows}"""


_LOAD_MODEL = """\
model = keras.saving.load_model(MODEL_FILE)
weights = [tuple(layer.get_weights()) for layer in model.layers]  # [(W, b), ...], input first
activations = [layer.activation.__name__ for layer in model.layers]
for layer, (W, b), g in zip(model.layers, weights, activations):
    print(f"{layer.name}: W {W.shape} {W.dtype}, b {b.shape}, g = {g}")"""


def _tensors_text(shapes: _Shapes, digits: list[int]) -> str:
    output = shapes.layers[-1]
    if output.activation == "sigmoid":
        targets = (
            f"$Y$ has the output's shape, (m, 1): $y = 1$ for a {digits[1]} and 0 for a "
            f"{digits[0]}, since the one sigmoid unit gives $p(\\text{{{digits[1]}}})$."
        )
    else:
        targets = (
            f"$Y$ has the output's shape, (m, {output.units}): one row per drawing, *one-hot*, "
            f"a 1 in the column of its class and 0 elsewhere."
        )
    return f"""## 2. MNIST as tensors

A *tensor* here is an n-dimensional array: a shape and a dtype. MNIST's training images arrive
as one tensor of shape (60000, 28, 28), dtype uint8 (0 is paper, 255 is ink), and their labels
as (60000,).

A dense network reads each drawing as a row of {shapes.inputs} numbers, so the images of the
digits {", ".join(map(str, digits))} become a matrix $X$ of shape (m, {shapes.inputs}): **one
row per drawing**, $m$ drawings, each pixel scaled to $[0, 1]$. Keras, TensorFlow and NumPy all
lay data out this way: the first axis is the *batch axis*, so even one drawing is
(1, {shapes.inputs}), not ({shapes.inputs},) or ({shapes.inputs}, 1).

{targets}"""


_LOAD_MNIST = """\
def load_mnist(data_dir):
    \"\"\"((x_train, y_train), (x_test, y_test)): images (n, 28, 28) uint8, labels (n,).\"\"\"
    if data_dir is None:
        return keras.datasets.mnist.load_data()
    folder = Path(data_dir)
    if (folder / "mnist.npz").is_file():
        with np.load(folder / "mnist.npz") as arrays:
            return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])

    def idx(name):  # IDX: 0, 0, a type byte, the number of axes n, n sizes (uint32), the bytes
        path = sorted(folder.glob(name + "*"))[0]
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as file:
            data = file.read()
        shape = np.frombuffer(data, ">u4", count=data[3], offset=4)
        return np.frombuffer(data, np.uint8, offset=4 + 4 * data[3]).reshape(shape)

    return (idx("train-images"), idx("train-labels")), (idx("t10k-images"), idx("t10k-labels"))


def examples(images, labels):
    \"\"\"The drawings of DIGITS as X (m, 784) float32 in [0, 1], and their classes (m,).\"\"\"
    keep = np.isin(labels, DIGITS)
    X = images[keep].reshape(-1, 28 * 28).astype(np.float32) / 255
    classes = np.array([DIGITS.index(label) for label in labels[keep]])
    return X, classes


def targets(classes):
    \"\"\"Y in the output's shape: (m, 1) for one sigmoid unit (1 for the second class), one-hot
    rows (m, classes) for a softmax.\"\"\"
    if activations[-1] == "sigmoid":
        return classes[:, None].astype(np.float32)
    return np.eye(len(DIGITS), dtype=np.float32)[classes]


(x_train, y_train), (x_test, y_test) = load_mnist(DATA_DIR)
print("MNIST:", x_train.shape, x_train.dtype, "labels", y_train.shape)
X_train, classes_train = examples(x_train, y_train)
X_test, classes_test = examples(x_test, y_test)
Y_train, Y_test = targets(classes_train), targets(classes_test)
print("X_train", X_train.shape, X_train.dtype, " Y_train", Y_train.shape)
print("X_test ", X_test.shape, X_test.dtype, " Y_test ", Y_test.shape)"""


def _forward_text(shapes: _Shapes) -> str:
    first = shapes.layers[0]
    return f"""## 3. The forward pass in NumPy

For one drawing as a row vector $a^{{[0]}} = x$, each layer $l$ computes

$$z^{{[l]}} = a^{{[l-1]}}\\,W^{{[l]}} + b^{{[l]}}, \\qquad
a^{{[l]}} = g^{{[l]}}\\big(z^{{[l]}}\\big)$$

For the first layer: (1, {shapes.inputs}) · ({shapes.inputs}, {first.units}) + ({first.units},)
→ (1, {first.units}). Layer by layer the shapes go

$$\\text{{{shapes.chain()}}}$$

and the `1` is the batch axis: how many drawings go through at once. For $m$ drawings, stack them
as the rows of $A^{{[0]}} = X$ and the same line computes them all,
$Z^{{[l]}} = A^{{[l-1]}} W^{{[l]}} + b^{{[l]}}$, shapes {shapes.chain("m")}, with $b$ added to
every row (*broadcasting*). That is vectorisation: one matrix product instead of a loop over
drawings.

The activations: $\\sigma(z) = 1/(1 + e^{{-z}})$, $\\text{{relu}}(z) = \\max(z, 0)$, $\\tanh$, and
$\\text{{softmax}}(z)_k = e^{{z_k}} / \\sum_j e^{{z_j}}$ over each row."""


_FORWARD = """\
def sigmoid(z):
    return 0.5 * (1 + np.tanh(z / 2))  # = 1 / (1 + e^-z), without overflow for very negative z


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))  # shifting z leaves softmax unchanged
    return e / e.sum(axis=1, keepdims=True)


G = {"sigmoid": sigmoid, "relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
     "linear": lambda z: z, "softmax": softmax}


def forward(X, weights):
    \"\"\"Every layer's (Z, A) for the drawings X (m, 784), the output's last.\"\"\"
    A, layers = X, []
    for (W, b), g in zip(weights, activations):
        Z = A @ W + b  # (m, inputs) @ (inputs, units) + (units,) -> (m, units)
        A = G[g](Z)
        layers.append((Z, A))
    return layers


x = X_test[:1]  # one drawing: shape (1, 784), the batch axis kept
print(" -> ".join([str(x.shape)] + [str(A.shape) for Z, A in forward(x, weights)]))
print("output a =", forward(x, weights)[-1][1], "for a", DIGITS[classes_test[0]])"""


def _notations_text(shapes: _Shapes) -> str:
    first = shapes.layers[0]
    inputs, units = shapes.inputs, first.units
    return f"""### The same numbers, three ways: $aW + b$, $Wa + b$ and $AW + b$

- **Keras (row vector):** $z = a\\,W + b$ with $a$ of shape (1, {inputs}) and $W$ of shape
  ({inputs}, {units}), inputs × units, as Keras stores it.
- **The course (column vector):** $z = W a + b$ with $a$ of shape ({inputs}, 1) and $W$ of shape
  ({units}, {inputs}), units × inputs: Keras's $W$ transposed, so `W.T` here.
- **A batch:** $Z = A\\,W + b$ with $A$ of shape (m, {inputs}), one drawing per row, and $b$
  broadcast over the rows.

The layouts differ because Keras puts examples in rows (a batch is a stack of rows, read from
memory one drawing at a time) while a column-vector course puts them in columns; the product is
the same sum $z_j = \\sum_i a_i W_{{ij}} + b_j$ either way, so all three give the same $z$."""


_NOTATIONS = """\
W, b = weights[0]
z_row = x @ W + b  # Keras: (1, 784) @ (784, units) + (units,)
z_column = W.T @ x.T + b[:, None]  # the course: (units, 784) @ (784, 1) + (units, 1)
Z_batch = X_test[:5] @ W + b  # five drawings at once: (5, 784) @ (784, units) + (units,)
print("shapes:", z_row.shape, z_column.shape, Z_batch.shape)
print("unit 0 of the first layer, three ways:", z_row[0, 0], z_column[0, 0], Z_batch[0, 0])
np.testing.assert_allclose(z_column.T, z_row, rtol=1e-5, atol=1e-5)
np.testing.assert_allclose(Z_batch[:1], z_row, rtol=1e-5, atol=1e-5)"""


_FORWARD_CHECK_TEXT = """\
### Checked against Keras

Keras's `model.predict` runs the same maths in TensorFlow. Float32 sums of 784 products come out
in a different order on another library or CPU, so they agree to about the 6th digit, not bit
for bit: `np.testing.assert_allclose` compares with a tolerance."""


_FORWARD_CHECK = """\
keras_output = model.predict(X_test, verbose=0)
numpy_output = forward(X_test, weights)[-1][1]
np.testing.assert_allclose(numpy_output, keras_output, rtol=1e-4, atol=1e-5)
print(f"NumPy's forward pass matches Keras's on all {len(X_test)} test drawings;",
      f"largest difference {np.abs(numpy_output - keras_output).max():.1e}")"""


def _backward_text(shapes: _Shapes) -> str:
    output = shapes.layers[-1]
    if output.activation == "sigmoid":
        loss = (
            "$$L = -\\frac{1}{m}\\sum_{i=1}^{m} \\Big(y_i \\log a_i + (1 - y_i)\\log(1 - a_i)"
            "\\Big)$$"
        )
    else:
        loss = "$$L = -\\frac{1}{m}\\sum_{i=1}^{m} \\sum_k Y_{ik} \\log A_{ik}$$"
    count = len(shapes.layers)
    deltas = ", ".join(
        f"$\\delta^{{[{index}]}}$ (m, {layer.units})"
        for index, layer in reversed(list(enumerate(shapes.layers, start=1)))
    )
    gradients = ", ".join(
        f"$\\partial L/\\partial W^{{[{index}]}}$ ({layer.weights.shape[0]}, {layer.units})"
        for index, layer in enumerate(shapes.layers, start=1)
    )
    return f"""## 4. The backward pass, by hand

The loss of a batch of $m$ drawings is the mean cross-entropy of the output $A^{{[{count}]}}$
against the targets $Y$:

{loss}

With a {output.activation} output, its gradient with respect to the output's $Z$ is simply

$$\\delta^{{[{count}]}} = \\frac{{\\partial L}}{{\\partial Z^{{[{count}]}}}}
= \\frac{{1}}{{m}}\\big(A^{{[{count}]}} - Y\\big)$$

(the derivative of the log cancels the activation's). Then the chain rule, one layer at a time
from the output back to the input:

$$\\frac{{\\partial L}}{{\\partial W^{{[l]}}}} = A^{{[l-1]\\top}} \\delta^{{[l]}}, \\qquad
\\frac{{\\partial L}}{{\\partial b^{{[l]}}}} = \\textstyle\\sum_{{\\text{{rows}}}} \\delta^{{[l]}},
\\qquad \\delta^{{[l-1]}} = \\big(\\delta^{{[l]}} W^{{[l]\\top}}\\big) \\odot
g'\\big(Z^{{[l-1]}}\\big)$$

with $\\sigma' = a(1 - a)$, $\\text{{relu}}' = 1$ where $z > 0$ (else 0), $\\tanh' = 1 - a^2$;
$\\odot$ multiplies element by element. Each gradient has the shape of what it is the gradient
of: {deltas}; {gradients}."""


_BACKWARD = """\
def slope(g, Z, A):
    \"\"\"g'(Z), written with A = g(Z) where that is how it is taught.\"\"\"
    return {"sigmoid": lambda: A * (1 - A), "tanh": lambda: 1 - A * A,
            "relu": lambda: (Z > 0).astype(Z.dtype), "linear": lambda: np.ones_like(Z)}[g]()


def cross_entropy(A_out, Y):
    \"\"\"The batch's mean cross-entropy (clipped as Keras does, so log(0) never happens).\"\"\"
    A = np.clip(A_out, 1e-7, 1 - 1e-7)
    if A.shape[1] == 1:
        return float(-np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A)))
    return float(-np.mean(np.sum(Y * np.log(A), axis=1)))


def backward(X, Y, weights, layers):
    \"\"\"(dL/dW, dL/db) of every layer for the batch X, Y, from forward's (Z, A) `layers`.\"\"\"
    gradients = [None] * len(weights)
    delta = (layers[-1][1] - Y) / len(X)  # dL/dZ of the output: (m, units)
    for l in reversed(range(len(weights))):
        A_prev = X if l == 0 else layers[l - 1][1]
        gradients[l] = (A_prev.T @ delta, delta.sum(axis=0))  # (inputs, units), (units,)
        if l > 0:
            W = weights[l][0]
            Z_prev = layers[l - 1][0]
            delta = (delta @ W.T) * slope(activations[l - 1], Z_prev, A_prev)
    return gradients


X_batch, Y_batch = X_train[:BATCH_SIZE], Y_train[:BATCH_SIZE]
gradients = backward(X_batch, Y_batch, weights, forward(X_batch, weights))
for l, (dW, db) in enumerate(gradients, start=1):
    print(f"layer {l}: dL/dW {dW.shape}, dL/db {db.shape}")"""


_BACKWARD_CHECK_TEXT = """\
### Checked against `tf.GradientTape`

TensorFlow records the Keras model's own forward pass on a tape and differentiates it
automatically. The hand-derived gradients must be the same numbers, for every weight and bias."""


_BACKWARD_CHECK = """\
keras_loss = (keras.losses.BinaryCrossentropy() if activations[-1] == "sigmoid"
              else keras.losses.CategoricalCrossentropy())
with tf.GradientTape() as tape:
    batch_loss = keras_loss(Y_batch, model(X_batch))
tape_gradients = tape.gradient(batch_loss, model.trainable_weights)  # W1, b1, W2, b2, ...
for (dW, db), tape_dW, tape_db in zip(gradients, tape_gradients[0::2], tape_gradients[1::2]):
    scale = float(np.abs(tape_dW).max()) + 1e-12
    np.testing.assert_allclose(dW, tape_dW, rtol=1e-3, atol=1e-4 * scale)
    np.testing.assert_allclose(db, tape_db, rtol=1e-3, atol=1e-4 * scale)
numpy_loss = cross_entropy(forward(X_batch, weights)[-1][1], Y_batch)
np.testing.assert_allclose(numpy_loss, float(batch_loss), rtol=1e-4, atol=1e-6)
print(f"loss {numpy_loss:.6f} (Keras {float(batch_loss):.6f});",
      "every gradient matches the tape's")"""


def _from_scratch_text(shapes: _Shapes) -> str:
    return f"""## 5. The same network, trained from scratch

Now forget the trained weights. Start from random ones (Glorot's uniform initialisation, as
Keras does: $W \\sim U(-r, r)$ with $r = \\sqrt{{6 / (\\text{{inputs}} + \\text{{units}})}}$, and
$b = 0$) and repeat, for `EPOCHS` passes over the training drawings in a fresh random order:
take the next `BATCH_SIZE` drawings, run the forward and backward passes above, and take one step
of *mini-batch gradient descent* down the loss,

$$W^{{[l]}} \\leftarrow W^{{[l]}} - \\eta\\,\\frac{{\\partial L}}{{\\partial W^{{[l]}}}}, \\qquad
b^{{[l]}} \\leftarrow b^{{[l]}} - \\eta\\,\\frac{{\\partial L}}{{\\partial b^{{[l]}}}}$$

with the learning rate $\\eta$ = `LEARNING_RATE`. The architecture is the trained model's:
{shapes.architecture()}. No Keras below: only the `forward` and `backward` written above."""


_FROM_SCRATCH = """\
rng = np.random.default_rng(SEED)


def glorot(inputs, units):
    r = np.sqrt(6 / (inputs + units))
    return rng.uniform(-r, r, size=(inputs, units)).astype(np.float32)


def classify_output(A):
    \"\"\"Each drawing's class index, from the output layer's A.\"\"\"
    return (A[:, 0] > 0.5).astype(int) if A.shape[1] == 1 else A.argmax(axis=1)


def classify(X, weights):
    return classify_output(forward(X, weights)[-1][1])


mine = [(glorot(*W.shape), np.zeros_like(b)) for W, b in weights]
started = time.perf_counter()
for epoch in range(1, EPOCHS + 1):
    order = rng.permutation(len(X_train))
    losses, right = [], 0
    for first in range(0, len(order), BATCH_SIZE):
        batch = order[first:first + BATCH_SIZE]
        layers = forward(X_train[batch], mine)
        gradients = backward(X_train[batch], Y_train[batch], mine, layers)
        mine = [(W - LEARNING_RATE * dW, b - LEARNING_RATE * db)
                for (W, b), (dW, db) in zip(mine, gradients)]
        # How the batch fared before the step, as Keras reports an epoch's progress.
        losses.append(cross_entropy(layers[-1][1], Y_train[batch]))
        right += np.sum(classify_output(layers[-1][1]) == classes_train[batch])
    seconds = time.perf_counter() - started
    print(f"epoch {epoch}: training loss {np.mean(losses):.4f},",
          f"training accuracy {right / len(X_train):.4f} ({seconds:.0f} s)")"""


_TEST_TEXT = """\
### On the test drawings

Drawings the network never trained on: the fraction it reads right. The downloaded Keras model's
is beside it for comparison."""


_TEST = """\
print(f"the downloaded Keras model: {np.mean(classify(X_test, weights) == classes_test):.4f}")
print(f"test accuracy: {np.mean(classify(X_test, mine) == classes_test):.4f}")"""
