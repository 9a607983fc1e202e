"""Generate golden values for small networks from PyTorch.

This script writes ``pytorch_network.json`` next to itself. For each case (a small
``torch.nn.Sequential`` that the Swift tests rebuild layer for layer) it records,
after seeding PyTorch's generator with the case's seed:

* ``state``: the initial ``state_dict`` (PyTorch's default initialization), every
  tensor flattened in row-major order, with its shape;
* ``input`` (with ``input_shape``) and ``labels``;
* one training-mode step: the ``logits``, the mean ``loss`` of
  ``torch.nn.CrossEntropyLoss``, the gradient of the loss with respect to the input
  (``grad_input``) and to every parameter (``gradients``, by state_dict name), and
  the ``state_dict`` after the step (``state_after``: running statistics updated);
* ``eval_logits``: the logits of the same input in evaluation mode after the step.

Every number is written with ``float.__repr__`` of its exact value (float32 values
widened to float64), so it parses back to the identical float. The fixtures were
generated with PyTorch 2.15.0 (CPU); the version is recorded under ``torch_version``.
To regenerate them (any working directory works):

    pip install torch numpy
    python3 Tests/NeuralNetworkTests/Fixtures/make_pytorch_fixtures.py
"""

import json
import re
from pathlib import Path

import torch
from torch import nn

OUTPUT_PATH = Path(__file__).resolve().parent / "pytorch_network.json"


def mlp():
    """Linear → BatchNorm1d → Sigmoid → Linear: the paper's MNIST network, small."""
    return nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.Sigmoid(), nn.Linear(5, 4)), (8, 6), 4


def cnn():
    """Convolutions with padding and stride, BatchNorm2d, both poolings, Tanh, ReLU."""
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1),
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(3, 4, 3, stride=2, padding=1),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(4, 5, bias=False),
    )
    return model, (4, 2, 6, 6), 5


CASES = [
    ("mlp_float64", mlp, torch.float64, 1),
    ("cnn_float64", cnn, torch.float64, 2),
    ("cnn_float32", cnn, torch.float32, 3),
]


def values(tensor):
    """Exact values as float64 Python floats, row-major."""
    return tensor.detach().double().flatten().tolist()


def state(model):
    return {
        name: {"shape": list(tensor.shape), "values": values(tensor)}
        for name, tensor in model.state_dict().items()
    }


def make_case(name, build, dtype, seed):
    torch.manual_seed(seed)
    model, input_shape, class_count = build()
    model = model.to(dtype)
    initial_state = state(model)
    inputs = torch.randn(input_shape, dtype=dtype, requires_grad=True)
    labels = torch.randint(0, class_count, (input_shape[0],))

    model.train()
    logits = model(inputs)
    loss = nn.CrossEntropyLoss()(logits, labels)
    loss.backward()
    gradients = {
        parameter_name: values(parameter.grad)
        for parameter_name, parameter in model.named_parameters()
    }
    model.eval()
    with torch.no_grad():
        eval_logits = model(inputs)
    return {
        "name": name,
        "dtype": str(dtype).removeprefix("torch."),
        "state": initial_state,
        "input_shape": list(input_shape),
        "input": values(inputs),
        "labels": labels.tolist(),
        "logits": values(logits),
        "loss": loss.item(),
        "grad_input": values(inputs.grad),
        "gradients": gradients,
        "state_after": state(model),
        "eval_logits": values(eval_logits),
    }


def main():
    torch.set_num_threads(1)
    fixture = {
        "torch_version": torch.__version__,
        "generator": Path(__file__).name,
        "cases": [make_case(*case) for case in CASES],
    }
    text = json.dumps(fixture, indent=1)
    # One line per list of numbers, so the file stays small and diffs stay readable.
    text = re.sub(r"\[[-0-9.e,\s]*\]", lambda match: re.sub(r"\s+", "", match.group(0)).replace(",", ", "), text)
    OUTPUT_PATH.write_text(text + "\n")
    print(f"wrote {OUTPUT_PATH}")


if __name__ == "__main__":
    main()
