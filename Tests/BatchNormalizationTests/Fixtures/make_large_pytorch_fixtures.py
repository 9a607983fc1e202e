"""Generate large golden-value Batch Normalization fixtures from PyTorch, stored compactly.

The small fixtures (make_pytorch_fixtures.py) hold every value, so they stay under 300
elements and never reach the kernels' multi-block or streaming-store paths. These cases are
large enough to reach them (4.7 million values, more than 32 MiB per pair of arrays), so the
file cannot hold every value. Instead:

* the input x and the output gradient dy are a formula both sides compute exactly, from the
  memory-order index i and the channel c of each value:

      u(i, k) = ((i * 2654435761 + k * 2246822519) mod 2^32) / 2^32       (exact in float64)
      x  = float32((u(i, 1) - 0.5) * (1 + 0.25 * (c mod 4)) + 3 * (c mod 5))
      dy = float32(u(i, 2) - 0.5)

  with gamma_c = 0.5 + 0.125 * (c mod 8) and beta_c = 0.1 * c - 0.5 (float32);
* every per-channel result is stored whole: the batch mean and inverse standard deviation
  (torch.native_batch_norm's saved statistics), the running mean and variance after one
  training step (PyTorch defaults: momentum 0.1, eps 1e-5, unbiased running variance),
  and the parameter gradients of the training-mode backward;
* the per-value results (training output, its input gradient, and the evaluation-mode output
  with the updated running statistics) are stored at 1,024 sampled memory positions,
  (j * 1000003 + 17) mod n for j < 960, plus the first and last 32 positions.

The same quantities are also stored as computed exactly in float64 with numpy ("reference"):
PyTorch's own float32 results are not exact (its channels-last CPU path was measured 3e-5
off in the inverse standard deviation), so a test holds a float32 implementation to the
float64 reference within its contract, and to PyTorch within PyTorch's own distance from it.

Every number is float.__repr__ of its exact value, so it parses back to the identical float.
To regenerate (PyTorch 2.15.0, CPU, one thread; the version is recorded in the file):

    python3 Tests/BatchNormalizationTests/Fixtures/make_large_pytorch_fixtures.py
"""

import json
from pathlib import Path

import numpy
import torch

OUTPUT_PATH = Path(__file__).resolve().parent / "pytorch_batchnorm_large.json"
SAMPLED_COUNT = 960
EDGE_COUNT = 32

CASES = [
    # name, memory dimensions, layout: the channel axis is 1 (channels-first) or last.
    ("nchw_streamed", [8, 16, 192, 192], "channelsFirst"),
    ("nhwc_streamed", [8, 192, 192, 16], "channelsLast"),
    ("rows_37_channels", [65536, 37], "channelsFirst"),
]


def uniform(indices, k):
    return ((indices * 2654435761 + k * 2246822519) % (1 << 32)).astype(numpy.float64) / float(1 << 32)


def channel_of(indices, dimensions, layout):
    if layout == "channelsLast" or len(dimensions) == 2:
        return indices % dimensions[-1]
    spatial = int(numpy.prod(dimensions[2:]))
    return (indices // spatial) % dimensions[1]


def positions(count):
    sampled = [(j * 1000003 + 17) % count for j in range(SAMPLED_COUNT)]
    return sampled + list(range(EDGE_COUNT)) + list(range(count - EDGE_COUNT, count))


def exact(values):
    return [float(value) for value in numpy.asarray(values, dtype=numpy.float64).ravel()]


def to_logical(memory, layout):
    """The memory-order array as the logical NCHW (or NC) tensor PyTorch normalizes."""
    tensor = torch.from_numpy(memory)
    if layout == "channelsLast" and memory.ndim > 2:
        order = [0, memory.ndim - 1] + list(range(1, memory.ndim - 1))
        return tensor.permute(*order)
    return tensor


def to_memory(tensor, layout):
    if layout == "channelsLast" and tensor.dim() > 2:
        order = [0] + list(range(2, tensor.dim())) + [1]
        return tensor.permute(*order).contiguous().numpy().ravel()
    return tensor.contiguous().numpy().ravel()


def generate_case(name, dimensions, layout):
    count = int(numpy.prod(dimensions))
    channels = dimensions[-1] if layout == "channelsLast" or len(dimensions) == 2 else dimensions[1]
    indices = numpy.arange(count, dtype=numpy.int64)
    channel = channel_of(indices, dimensions, layout)
    x = ((uniform(indices, 1) - 0.5) * (1 + 0.25 * (channel % 4)) + 3 * (channel % 5)).astype(numpy.float32)
    dy = (uniform(indices, 2) - 0.5).astype(numpy.float32)
    gamma = numpy.array([0.5 + 0.125 * (c % 8) for c in range(channels)], dtype=numpy.float32)
    beta = numpy.array([0.1 * c - 0.5 for c in range(channels)], dtype=numpy.float32)

    module = torch.nn.BatchNorm2d(channels) if len(dimensions) == 4 else torch.nn.BatchNorm1d(channels)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(gamma))
        module.bias.copy_(torch.from_numpy(beta))
    module.train()
    input_tensor = to_logical(x.reshape(dimensions), layout).clone().requires_grad_(True)
    with torch.no_grad():
        _, saved_mean, saved_invstd = torch.native_batch_norm(
            input_tensor.detach(), module.weight, module.bias, None, None, True, 0.1, 1e-5)
    output = module(input_tensor)
    output.backward(to_logical(dy.reshape(dimensions), layout))
    module.eval()
    with torch.no_grad():
        evaluation = module(to_logical(x.reshape(dimensions), layout))

    sampled = positions(count)
    reference = float64_reference(x, dy, gamma, beta, channel, channels, sampled)
    y_memory = to_memory(output.detach(), layout)
    dx_memory = to_memory(input_tensor.grad, layout)
    evaluation_memory = to_memory(evaluation, layout)
    return {
        "name": name,
        "memory_dimensions": dimensions,
        "layout": layout,
        "positions": sampled,
        "saved_mean": exact(saved_mean.numpy()),
        "saved_invstd": exact(saved_invstd.numpy()),
        "running_mean": exact(module.running_mean.numpy()),
        "running_var": exact(module.running_var.numpy()),
        "grad_weight": exact(module.weight.grad.numpy()),
        "grad_bias": exact(module.bias.grad.numpy()),
        "output": exact(y_memory[sampled]),
        "grad_input": exact(dx_memory[sampled]),
        "inference_output": exact(evaluation_memory[sampled]),
        "reference": reference,
    }


def float64_reference(x, dy, gamma, beta, channel, channels, sampled):
    """The training step, its backward and the evaluation output, exactly in float64."""
    x = x.astype(numpy.float64)
    dy = dy.astype(numpy.float64)
    gamma = gamma.astype(numpy.float64)
    beta = beta.astype(numpy.float64)
    count = numpy.bincount(channel, minlength=channels).astype(numpy.float64)
    mean = numpy.bincount(channel, weights=x, minlength=channels) / count
    centered = x - mean[channel]
    variance = numpy.bincount(channel, weights=centered * centered, minlength=channels) / count
    invstd = 1 / numpy.sqrt(variance + 1e-5)
    normalized = centered * invstd[channel]
    grad_bias = numpy.bincount(channel, weights=dy, minlength=channels)
    grad_weight = numpy.bincount(channel, weights=dy * normalized, minlength=channels)
    sampled = numpy.asarray(sampled)
    c = channel[sampled]
    output = gamma[c] * normalized[sampled] + beta[c]
    grad_input = gamma[c] * invstd[c] * (
        dy[sampled] - grad_bias[c] / count[c] - normalized[sampled] * grad_weight[c] / count[c])
    running_mean = 0.1 * mean
    running_var = 0.9 + 0.1 * variance * count / (count - 1)
    inference = gamma[c] * (x[sampled] - running_mean[c]) / numpy.sqrt(running_var[c] + 1e-5) + beta[c]
    return {
        "saved_mean": exact(mean),
        "saved_invstd": exact(invstd),
        "running_mean": exact(running_mean),
        "running_var": exact(running_var),
        "grad_weight": exact(grad_weight),
        "grad_bias": exact(grad_bias),
        "output": exact(output),
        "grad_input": exact(grad_input),
        "inference_output": exact(inference),
    }


def main():
    torch.set_num_threads(1)
    document = {
        "generator": Path(__file__).name,
        "torch_version": torch.__version__,
        "cases": [generate_case(*case) for case in CASES],
    }
    OUTPUT_PATH.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    print(f"wrote {OUTPUT_PATH} ({OUTPUT_PATH.stat().st_size} bytes, {len(CASES)} cases)")


if __name__ == "__main__":
    main()
