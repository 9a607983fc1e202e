"""Checks exported ONNX models in ONNX Runtime against `bn eval`.

Usage: python check_onnx_export.py MODEL.onnx LOGITS.npy [--images N]

MODEL.onnx is what `bn export` wrote; LOGITS.npy what `bn eval --limit-test N --logits`
wrote for the same model. The script
  1. runs onnx.checker.check_model (full check, with shape inference) and checks that the
     file's IR version is the one ONNX released with its opset;
  2. runs the model in ONNX Runtime (CPU) on the first N Fashion-MNIST test images, scaled
     as bn scales them (byte / 255 in float32), in the shape the graph's input declares;
  3. requires every logit within 1e-4 of bn's and the same accuracy.
Prints one line; exits non-zero on any failure.
"""

import argparse
import gzip
import sys

import numpy as np
import onnx
import onnxruntime

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
TOLERANCE = 1e-4


def read_idx(path):
    with gzip.open(path, "rb") as file:
        data = file.read()
    dimensions = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dimensions).reshape(shape)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("logits")
    parser.add_argument("--images", type=int, default=1000)
    arguments = parser.parse_args()

    model = onnx.load(arguments.model)
    onnx.checker.check_model(model, full_check=True)
    opset = next(entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx"))
    expected_ir = onnx.helper.find_min_ir_version_for(list(model.opset_import))
    if model.ir_version != expected_ir:
        sys.exit(f"{arguments.model}: IR version {model.ir_version}, but opset {opset} came with IR {expected_ir}")

    count = arguments.images
    images = read_idx(f"{FASHION_MNIST}/t10k-images-idx3-ubyte.gz")[:count].astype(np.float32) / np.float32(255)
    labels = read_idx(f"{FASHION_MNIST}/t10k-labels-idx1-ubyte.gz")[:count].astype(np.int64)
    session = onnxruntime.InferenceSession(arguments.model, providers=["CPUExecutionProvider"])
    declared = session.get_inputs()[0].shape  # ["N", 784] or ["N", 1, 28, 28]
    logits = session.run(None, {session.get_inputs()[0].name: images.reshape([count] + list(declared[1:]))})[0]

    expected = np.load(arguments.logits)
    if logits.shape != expected.shape:
        sys.exit(f"{arguments.model}: ONNX Runtime gives logits {logits.shape}, bn eval {expected.shape}")
    difference = float(np.max(np.abs(logits.astype(np.float64) - expected.astype(np.float64))))
    accuracy = float(np.mean(np.argmax(logits, axis=1) == labels))
    expected_accuracy = float(np.mean(np.argmax(expected, axis=1) == labels))
    line = (
        f"{arguments.model}: opset {opset}, IR {model.ir_version}, checker passed; {count} images: "
        f"largest logit difference {difference:.2e} (limit {TOLERANCE:g}), "
        f"accuracy {accuracy:.4f} (bn eval {expected_accuracy:.4f})"
    )
    print(line)
    if not difference <= TOLERANCE or accuracy != expected_accuracy:
        sys.exit(f"FAILED: {line}")


if __name__ == "__main__":
    main()
