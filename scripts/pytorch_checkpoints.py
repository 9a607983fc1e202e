"""Exchange models between `bn` and PyTorch through safetensors checkpoints.

    python3 scripts/pytorch_checkpoints.py eval MODEL.safetensors [--arch SPEC] [--dataset DIR]
        Builds the torch.nn.Sequential of the architecture (from the file's metadata, or
        --arch for a file PyTorch wrote), loads the file with load_state_dict(strict=True)
        and prints `test accuracy: 0.xxxx` on the test set, to compare with `bn eval`.

    python3 scripts/pytorch_checkpoints.py train OUT.safetensors --arch SPEC [--epochs E]
        [--batch-size B] [--lr L] [--optimizer sgd|adam] [--limit-train N] [--dataset DIR]
        Trains the same network in PyTorch and saves its state_dict with
        safetensors.torch.save_file (no metadata), for `bn eval --model OUT --arch SPEC`.

Needs `pip install torch numpy safetensors`. The data set is an MNIST-format directory
(default /usr/share/datasets/fashion-mnist), pixels scaled to x/255.
"""

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn


def read_idx(directory, name):
    path = Path(directory) / name
    opener = open if path.exists() else gzip.open
    with opener(path if path.exists() else Path(str(path) + ".gz"), "rb") as file:
        data = file.read()
    dimensions = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dimensions).reshape(shape)


def load_split(directory, prefix):
    images = torch.from_numpy(read_idx(directory, f"{prefix}-images-idx3-ubyte").astype(np.float32) / 255)
    labels = torch.from_numpy(read_idx(directory, f"{prefix}-labels-idx1-ubyte").astype(np.int64))
    return images, labels


def takes_images(tokens):
    for token in tokens:
        name = token.split(":")[0]
        if name in ("conv", "maxpool", "avgpool"):
            return True
        if name in ("linear", "flatten"):
            return False
    return False


def build(architecture, sample_shape):
    """The nn.Sequential of an architecture string for samples of sample_shape (no batch)."""
    shape = list(sample_shape)
    layers = []
    for token in architecture.split(","):
        name, *arguments = token.strip().split(":")
        numbers = [int(a) for a in arguments if "=" not in a and a.lstrip("-").isdigit()]
        bias = "nobias" not in [a.lower() for a in arguments]
        if name == "linear":
            layers.append(nn.Linear(int(np.prod(shape)), numbers[0], bias=bias))
            shape = [numbers[0]]
        elif name == "conv":
            out, kernel, stride, padding = (numbers + [1, 0])[:4] if len(numbers) == 2 else (numbers + [0])[:4]
            layers.append(nn.Conv2d(shape[0], out, kernel, stride=stride, padding=padding, bias=bias))
            shape = [out] + [(size + 2 * padding - kernel) // stride + 1 for size in shape[1:]]
        elif name in ("maxpool", "avgpool"):
            layers.append((nn.MaxPool2d if name == "maxpool" else nn.AvgPool2d)(numbers[0]))
            shape = [shape[0]] + [size // numbers[0] for size in shape[1:]]
        elif name == "flatten":
            layers.append(nn.Flatten())
            shape = [int(np.prod(shape))]
        elif name == "bn":
            options = dict(a.split("=") if "=" in a else (a, "") for a in arguments)
            module = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
            momentum = None if "cumulative" in options else float(options.get("momentum", 0.1))
            layers.append(
                module(shape[0], eps=float(options.get("eps", 1e-5)), momentum=momentum, affine="noaffine" not in options)
            )
        elif name in ("sigmoid", "tanh", "relu"):
            layers.append({"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[name]())
        elif name == "dropout":
            layers.append(nn.Dropout(float(arguments[0])))
        else:
            raise SystemExit(f"unknown layer {token}")
    return nn.Sequential(*layers)


def samples(images, architecture):
    tokens = architecture.split(",")
    return images.unsqueeze(1) if takes_images(tokens) else images.reshape(len(images), -1)


def evaluate(model, images, labels):
    model.eval()
    with torch.no_grad():
        predictions = torch.cat([model(images[i : i + 1000]).argmax(1) for i in range(0, len(images), 1000)])
    return (predictions == labels).float().mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["eval", "train"])
    parser.add_argument("model")
    parser.add_argument("--arch")
    parser.add_argument("--dataset", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=60)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--limit-train", type=int)
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    test_images, test_labels = load_split(arguments.dataset, "t10k")

    if arguments.command == "eval":
        with safe_open(arguments.model, "pt") as file:
            metadata = file.metadata() or {}
        architecture = arguments.arch or metadata["architecture"]
        x = samples(test_images, architecture)
        model = build(architecture, x.shape[1:])
        model.load_state_dict(load_file(arguments.model), strict=True)
        print(f"test accuracy: {evaluate(model, x, test_labels):.4f}")
        return

    torch.manual_seed(arguments.seed)
    architecture = arguments.arch
    train_images, train_labels = load_split(arguments.dataset, "train")
    if arguments.limit_train:
        train_images, train_labels = train_images[: arguments.limit_train], train_labels[: arguments.limit_train]
    x, x_test = samples(train_images, architecture), samples(test_images, architecture)
    model = build(architecture, x.shape[1:])
    if arguments.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=arguments.lr or 0.1, momentum=arguments.momentum)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=arguments.lr or 1e-3)
    for epoch in range(arguments.epochs):
        start = time.time()
        model.train()
        order = torch.randperm(len(x))
        for i in range(0, len(x) - arguments.batch_size + 1, arguments.batch_size):
            batch = order[i : i + arguments.batch_size]
            optimizer.zero_grad()
            nn.CrossEntropyLoss()(model(x[batch]), train_labels[batch]).backward()
            optimizer.step()
        accuracy = evaluate(model, x_test, test_labels)
        print(f"epoch {epoch + 1}/{arguments.epochs}  test accuracy {accuracy:.4f}  ({time.time() - start:.1f} s)")
    save_file(model.state_dict(), arguments.model)
    print(f"wrote {arguments.model}")
    print(f"test accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
