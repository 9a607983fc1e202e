"""Generate golden values for training and checkpoints from PyTorch.

This script writes, next to itself:

* ``pytorch_training.json``: a float32 ``torch.nn.Sequential`` with Conv2d,
  BatchNorm2d, ReLU, MaxPool2d, a strided Conv2d, Tanh, Flatten, Linear,
  BatchNorm1d, Sigmoid and Linear (the Swift tests build it from its architecture
  string, ``architecture``), trained for TWO steps on two batches with each optimizer
  in ``OPTIMIZERS``. Per case: the initial ``state`` (PyTorch's default
  initialization), the batches (``inputs``, ``labels``), and the ``state_after`` the
  two steps: every parameter and running statistic, by state_dict name.
* ``pytorch_checkpoint.safetensors``: the state_dict of a small CNN trained for a few
  steps, saved with ``safetensors.torch.save_file`` (so without metadata), and
  ``pytorch_checkpoint.json``: its architecture string, some inputs and the
  evaluation-mode logits PyTorch computes for them.

Numbers are written with ``float.__repr__`` of their exact float32 value widened to
float64. To regenerate (any working directory works):

    pip install torch numpy safetensors
    python3 Tests/NeuralNetworkTests/Fixtures/make_pytorch_training_fixtures.py
"""

import json
import re
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

HERE = Path(__file__).resolve().parent

TRAINING_ARCHITECTURE = "conv:3:3:1:1,bn,relu,maxpool:2,conv:4:3:2:1,tanh,flatten,linear:6,bn,sigmoid,linear:3"
CHECKPOINT_ARCHITECTURE = "conv:2:3:1:1,bn,relu,maxpool:2,flatten,linear:3"

OPTIMIZERS = {
    "sgd_momentum_weight_decay": lambda parameters: torch.optim.SGD(
        parameters, lr=0.1, momentum=0.9, weight_decay=1e-4
    ),
    # ε = 1e-3, not 1e-8: a bias right before batch normalization has a true gradient of
    # 0, so what backward computes for it is rounding noise (~1e-9), which Adam with a
    # tiny ε divides by its own size into a full step of ±lr in a direction neither
    # implementation determines. ε = 1e-3 keeps that noise's step below 1e-8.
    "adam_weight_decay": lambda parameters: torch.optim.Adam(parameters, lr=0.01, eps=1e-3, weight_decay=1e-4),
}


def training_model():
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1),
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(3, 4, 3, stride=2, padding=1),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(16, 6),
        nn.BatchNorm1d(6),
        nn.Sigmoid(),
        nn.Linear(6, 3),
    )


def checkpoint_model():
    return nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 3)
    )


def values(tensor):
    """Exact values as float64 Python floats, row-major."""
    return tensor.detach().double().flatten().tolist()


def state(model):
    return {
        name: {"shape": list(tensor.shape), "values": values(tensor)} for name, tensor in model.state_dict().items()
    }


def training_case(name, make_optimizer):
    torch.manual_seed(11)
    model = training_model()
    initial_state = state(model)
    batches = [(torch.randn(8, 2, 6, 6), torch.randint(0, 3, (8,))) for _ in range(2)]
    optimizer = make_optimizer(model.parameters())
    model.train()
    for inputs, labels in batches:
        optimizer.zero_grad()
        nn.CrossEntropyLoss()(model(inputs), labels).backward()
        optimizer.step()
    return {
        "name": name,
        "state": initial_state,
        "input_shape": [8, 2, 6, 6],
        "inputs": [values(inputs) for inputs, _ in batches],
        "labels": [labels.tolist() for _, labels in batches],
        "state_after": state(model),
    }


def checkpoint_fixture():
    torch.manual_seed(12)
    model = checkpoint_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()
    for _ in range(3):
        inputs = torch.rand(16, 1, 4, 4)
        optimizer.zero_grad()
        nn.CrossEntropyLoss()(model(inputs), torch.randint(0, 3, (16,))).backward()
        optimizer.step()
    save_file(model.state_dict(), str(HERE / "pytorch_checkpoint.safetensors"))
    inputs = torch.rand(5, 1, 4, 4)
    model.eval()
    with torch.no_grad():
        logits = model(inputs)
    return {
        "torch_version": torch.__version__,
        "generator": Path(__file__).name,
        "architecture": CHECKPOINT_ARCHITECTURE,
        "input_shape": list(inputs.shape),
        "inputs": values(inputs),
        "eval_logits": values(logits),
    }


def write_json(fixture, path):
    text = json.dumps(fixture, indent=1)
    # One line per list of numbers, so the file stays small and diffs stay readable.
    text = re.sub(r"\[[-0-9.e,\s]*\]", lambda match: re.sub(r"\s+", "", match.group(0)).replace(",", ", "), text)
    path.write_text(text + "\n")
    print(f"wrote {path}")


def main():
    torch.set_num_threads(1)
    write_json(
        {
            "torch_version": torch.__version__,
            "generator": Path(__file__).name,
            "architecture": TRAINING_ARCHITECTURE,
            "cases": [training_case(name, make) for name, make in OPTIMIZERS.items()],
        },
        HERE / "pytorch_training.json",
    )
    write_json(checkpoint_fixture(), HERE / "pytorch_checkpoint.json")


if __name__ == "__main__":
    main()
