"""Generate golden-value Batch Normalization fixtures from PyTorch.

This script writes ``pytorch_batchnorm.json`` next to itself. The file holds a
fixed list of small cases (1-D, 2-D and 3-D batch norm, float32 and float64,
channels-first and channels-last memory layouts, exponential-average and
cumulative-average running statistics, with and without a trailing ReLU).
For every case it records:

* three training steps (fresh random input each) starting from
  running_mean = 0, running_var = 1, num_batches_tracked = 0: the input, the
  output, PyTorch's saved_mean / saved_invstd (from ``torch.native_batch_norm``)
  and the running statistics *after* the step;
* the training-mode backward pass of the last step's forward;
* an evaluation-mode forward and backward pass that uses the running
  statistics left by the last training step.

Every element array is flattened in memory order: for channels-last cases the
channel axis is moved last before flattening. Every number is written with
``float.__repr__`` of its exact value (float32 values widened to float64), so
it parses back to the identical float.

The fixtures were generated with PyTorch 2.15.0 (CPU, one thread); the exact
version is recorded in the JSON under ``torch_version``. To regenerate them:

    python3 Tests/BatchNormalizationTests/Fixtures/make_pytorch_fixtures.py

(any working directory works). The script is deterministic: each case seeds
PyTorch's generator with its own fixed seed. After writing the JSON it
re-reads it and checks every case against independent float64 numpy formulas
(``verify``), so the file is known to mean what its schema says.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy
import torch

OUTPUT_PATH = Path(__file__).resolve().parent / "pytorch_batchnorm.json"
GENERATOR_NAME = "make_pytorch_fixtures.py"
TRAINING_STEP_COUNT = 3
BASE_SEED = 20240
RELATIVE_TOLERANCE = 1e-5


@dataclass(frozen=True)
class CaseSpecification:
    name: str
    dimensions: tuple
    dtype: str = "float32"
    layout: str = "channelsFirst"
    epsilon: float = 1e-5
    momentum: float = 0.1  # None means cumulative moving average
    activation: str = "none"


CASE_SPECIFICATIONS = [
    CaseSpecification("nc_momentum", (8, 5)),
    CaseSpecification("nc_cumulative", (6, 4), momentum=None),
    CaseSpecification("ncl", (4, 3, 7)),
    CaseSpecification("nchw", (4, 3, 5, 5)),
    CaseSpecification("nhwc", (4, 3, 5, 5), layout="channelsLast"),
    CaseSpecification("ncdhw", (2, 3, 3, 4, 5)),
    CaseSpecification(
        "ndhwc", (2, 3, 3, 4, 5), layout="channelsLast", momentum=0.2, epsilon=1e-3
    ),
    CaseSpecification("nchw_double", (3, 2, 4, 4), dtype="float64"),
    CaseSpecification("nchw_relu", (4, 3, 3, 3), activation="relu"),
    CaseSpecification("nc_large_channels", (5, 37)),
    CaseSpecification("nchw_single_channel_prime", (7, 1, 3, 11)),
]

TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


# ---------------------------------------------------------------------------
# Tensor helpers
# ---------------------------------------------------------------------------


def memory_format_for(specification):
    """The torch memory format used to store this case's tensors."""
    if specification.layout == "channelsFirst":
        return torch.contiguous_format
    rank = len(specification.dimensions)
    if rank == 4:
        return torch.channels_last
    if rank == 5:
        return torch.channels_last_3d
    raise ValueError(f"PyTorch has no channels-last format for rank {rank}")


def memory_dimensions(specification):
    """The shape in memory order: channel axis moved last for channelsLast."""
    dimensions = list(specification.dimensions)
    if specification.layout == "channelsLast":
        dimensions.append(dimensions.pop(1))
    return dimensions


def flatten_in_memory_order(tensor, specification):
    """Exact values of a tensor, as float64 Python floats in memory order."""
    tensor = tensor.detach()
    if specification.layout == "channelsLast":
        tensor = tensor.movedim(1, -1)
    return tensor.contiguous().flatten().double().tolist()


def exact_values(tensor):
    """Exact values of a per-channel tensor, as float64 Python floats."""
    return tensor.detach().double().tolist()


def in_case_layout(tensor, specification):
    """The tensor stored in this case's memory format."""
    return tensor.contiguous(memory_format=memory_format_for(specification))


def per_channel_shape(specification):
    channel_count = specification.dimensions[1]
    return [1, channel_count] + [1] * (len(specification.dimensions) - 2)


def random_input(specification, channel_scales, channel_offsets):
    """Non unit-scale input: randn * per-channel scale + per-channel offset."""
    dtype = TORCH_DTYPES[specification.dtype]
    standard = torch.randn(specification.dimensions, dtype=dtype)
    values = standard * channel_scales + channel_offsets
    return in_case_layout(values, specification).requires_grad_(True)


def random_grad_output(specification):
    dtype = TORCH_DTYPES[specification.dtype]
    values = torch.randn(specification.dimensions, dtype=dtype)
    return in_case_layout(values, specification)


# ---------------------------------------------------------------------------
# PyTorch computations
# ---------------------------------------------------------------------------


def make_module(specification):
    """An nn.BatchNorm{1,2,3}d with random affine parameters."""
    module_classes = {
        2: torch.nn.BatchNorm1d,
        3: torch.nn.BatchNorm1d,
        4: torch.nn.BatchNorm2d,
        5: torch.nn.BatchNorm3d,
    }
    module_class = module_classes[len(specification.dimensions)]
    channel_count = specification.dimensions[1]
    module = module_class(
        channel_count, eps=specification.epsilon, momentum=specification.momentum
    ).to(TORCH_DTYPES[specification.dtype])
    with torch.no_grad():
        module.weight.uniform_(0.5, 1.5)
        module.bias.normal_(0.0, 0.5)
    return module


def apply_activation(tensor, specification):
    if specification.activation == "relu":
        return torch.relu(tensor)
    return tensor


def native_saved_statistics(module, input_tensor, specification):
    """saved_mean and saved_invstd from torch.native_batch_norm.

    Runs on a copy of the running buffers (before this step), so the module's
    own buffers are untouched. Also returns the copies after the update and the
    native output, so they can be cross-checked against the module.
    """
    running_mean = module.running_mean.clone()
    running_var = module.running_var.clone()
    if specification.momentum is None:
        momentum = 1.0 / (int(module.num_batches_tracked) + 1)
    else:
        momentum = specification.momentum
    with torch.no_grad():
        output, saved_mean, saved_invstd = torch.native_batch_norm(
            input_tensor,
            module.weight,
            module.bias,
            running_mean,
            running_var,
            True,
            momentum,
            specification.epsilon,
        )
    return output, saved_mean, saved_invstd, running_mean, running_var


def training_step(module, input_tensor, specification):
    """One training forward; returns the step record and the autograd output."""
    native = native_saved_statistics(module, input_tensor, specification)
    native_output, saved_mean, saved_invstd, native_mean, native_var = native
    normalized = module(input_tensor)
    output = apply_activation(normalized, specification)

    assert torch.equal(normalized.detach(), native_output), specification.name
    assert torch.allclose(module.running_mean, native_mean), specification.name
    assert torch.allclose(module.running_var, native_var), specification.name
    expected_format = memory_format_for(specification)
    assert output.is_contiguous(memory_format=expected_format), specification.name

    record = {
        "input": flatten_in_memory_order(input_tensor, specification),
        "output": flatten_in_memory_order(output, specification),
        "saved_mean": exact_values(saved_mean),
        "saved_invstd": exact_values(saved_invstd),
        "running_mean": exact_values(module.running_mean),
        "running_var": exact_values(module.running_var),
        "num_batches_tracked": int(module.num_batches_tracked),
    }
    return record, output


def backward_record(module, input_tensor, output, specification):
    """Backward through `output` (already computed from `input_tensor`)."""
    module.zero_grad(set_to_none=True)
    grad_output = random_grad_output(specification)
    output.backward(grad_output)
    return {
        "grad_output": flatten_in_memory_order(grad_output, specification),
        "grad_input": flatten_in_memory_order(input_tensor.grad, specification),
        "grad_weight": exact_values(module.weight.grad),
        "grad_bias": exact_values(module.bias.grad),
    }


def inference_record(module, make_input, specification):
    """Eval-mode forward and backward with the current running statistics."""
    module.eval()
    input_tensor = make_input()
    output = apply_activation(module(input_tensor), specification)
    record = {
        "input": flatten_in_memory_order(input_tensor, specification),
        "output": flatten_in_memory_order(output, specification),
    }
    record.update(backward_record(module, input_tensor, output, specification))
    return record


def generate_case(specification, seed):
    torch.manual_seed(seed)
    dtype = TORCH_DTYPES[specification.dtype]
    module = make_module(specification)
    shape = per_channel_shape(specification)
    channel_scales = 0.5 + torch.rand(shape, dtype=dtype) * 3.0
    channel_offsets = torch.randn(shape, dtype=dtype) * 4.0

    def make_input():
        return random_input(specification, channel_scales, channel_offsets)

    module.train()
    steps = []
    for _ in range(TRAINING_STEP_COUNT):
        input_tensor = make_input()
        record, output = training_step(module, input_tensor, specification)
        steps.append(record)
    # The last step's forward is still on the autograd tape: differentiate it.
    backward = backward_record(module, input_tensor, output, specification)
    inference = inference_record(module, make_input, specification)

    return {
        "name": specification.name,
        "dtype": specification.dtype,
        "layout": specification.layout,
        "dimensions": list(specification.dimensions),
        "memory_dimensions": memory_dimensions(specification),
        "epsilon": specification.epsilon,
        "momentum": specification.momentum,
        "activation": specification.activation,
        "weight": exact_values(module.weight),
        "bias": exact_values(module.bias),
        "steps": steps,
        "backward": backward,
        "inference": inference,
    }


def generate_document():
    cases = [
        generate_case(specification, BASE_SEED + index)
        for index, specification in enumerate(CASE_SPECIFICATIONS)
    ]
    return {
        "generator": GENERATOR_NAME,
        "torch_version": torch.__version__,
        "cases": cases,
    }


# ---------------------------------------------------------------------------
# Independent numpy float64 check
# ---------------------------------------------------------------------------


def assert_close(actual, expected, label):
    """Relative agreement to RELATIVE_TOLERANCE, scaled by the array's size.

    Values near zero (e.g. normalized outputs) are compared against the
    largest magnitude in the expected array, since float32 rounding error is
    relative to that scale, not to each tiny element.
    """
    actual = numpy.asarray(actual, dtype=numpy.float64)
    expected = numpy.asarray(expected, dtype=numpy.float64)
    assert actual.shape == expected.shape, f"{label}: shape mismatch"
    scale = max(float(numpy.max(numpy.abs(expected), initial=0.0)), 1e-30)
    worst = float(numpy.max(numpy.abs(actual - expected), initial=0.0))
    assert worst <= RELATIVE_TOLERANCE * scale, (
        f"{label}: max difference {worst:g} exceeds {RELATIVE_TOLERANCE:g} x {scale:g}"
    )


def channel_axis(case):
    return len(case["dimensions"]) - 1 if case["layout"] == "channelsLast" else 1


def as_memory_array(values, case):
    return numpy.asarray(values, dtype=numpy.float64).reshape(case["memory_dimensions"])


def broadcast_channels(values, case):
    """Reshape a per-channel vector so it broadcasts along the channel axis."""
    shape = [1] * len(case["memory_dimensions"])
    shape[channel_axis(case)] = -1
    return numpy.asarray(values, dtype=numpy.float64).reshape(shape)


def reduction_axes(case):
    axis = channel_axis(case)
    return tuple(index for index in range(len(case["memory_dimensions"])) if index != axis)


def apply_numpy_activation(values, case):
    return numpy.maximum(values, 0.0) if case["activation"] == "relu" else values


def masked_grad_output(grad_output, output, case):
    """dL/d(batch_norm output): the ReLU passes gradient only where output > 0."""
    if case["activation"] == "relu":
        return numpy.where(output > 0.0, grad_output, 0.0)
    return grad_output


def verify_training_steps(case):
    weight = broadcast_channels(case["weight"], case)
    bias = broadcast_channels(case["bias"], case)
    axes = reduction_axes(case)
    channel_count = case["dimensions"][1]
    running_mean = numpy.zeros(channel_count)
    running_var = numpy.ones(channel_count)

    for step_index, step in enumerate(case["steps"]):
        label = f"{case['name']} step {step_index}"
        input_values = as_memory_array(step["input"], case)
        element_count = input_values.size // channel_count
        mean = input_values.mean(axis=axes)
        biased_var = input_values.var(axis=axes)
        invstd = 1.0 / numpy.sqrt(biased_var + case["epsilon"])
        normalized = (input_values - broadcast_channels(mean, case)) * broadcast_channels(
            invstd, case
        )
        output = apply_numpy_activation(normalized * weight + bias, case)

        batches_tracked = step_index + 1
        factor = case["momentum"] if case["momentum"] is not None else 1.0 / batches_tracked
        unbiased_var = biased_var * element_count / (element_count - 1)
        running_mean = (1.0 - factor) * running_mean + factor * mean
        running_var = (1.0 - factor) * running_var + factor * unbiased_var

        assert_close(step["output"], output.flatten(), f"{label} output")
        assert_close(step["saved_mean"], mean, f"{label} saved_mean")
        assert_close(step["saved_invstd"], invstd, f"{label} saved_invstd")
        assert_close(step["running_mean"], running_mean, f"{label} running_mean")
        assert_close(step["running_var"], running_var, f"{label} running_var")
        assert step["num_batches_tracked"] == batches_tracked, label


def verify_training_backward(case):
    label = f"{case['name']} backward"
    last_step = case["steps"][-1]
    axes = reduction_axes(case)
    input_values = as_memory_array(last_step["input"], case)
    output = as_memory_array(last_step["output"], case)
    element_count = input_values.size // case["dimensions"][1]
    mean = broadcast_channels(input_values.mean(axis=axes), case)
    invstd = 1.0 / numpy.sqrt(input_values.var(axis=axes) + case["epsilon"])
    normalized = (input_values - mean) * broadcast_channels(invstd, case)
    grad_output = as_memory_array(case["backward"]["grad_output"], case)
    grad_normalized_output = masked_grad_output(grad_output, output, case)

    grad_bias = grad_normalized_output.sum(axis=axes)
    grad_weight = (grad_normalized_output * normalized).sum(axis=axes)
    scale = broadcast_channels(numpy.asarray(case["weight"]) * invstd / element_count, case)
    grad_input = scale * (
        element_count * grad_normalized_output
        - broadcast_channels(grad_bias, case)
        - normalized * broadcast_channels(grad_weight, case)
    )

    assert_close(case["backward"]["grad_bias"], grad_bias, f"{label} grad_bias")
    assert_close(case["backward"]["grad_weight"], grad_weight, f"{label} grad_weight")
    assert_close(case["backward"]["grad_input"], grad_input.flatten(), f"{label} grad_input")


def verify_inference(case):
    label = f"{case['name']} inference"
    inference = case["inference"]
    axes = reduction_axes(case)
    last_step = case["steps"][-1]
    invstd = 1.0 / numpy.sqrt(numpy.asarray(last_step["running_var"]) + case["epsilon"])
    input_values = as_memory_array(inference["input"], case)
    normalized = (
        input_values - broadcast_channels(last_step["running_mean"], case)
    ) * broadcast_channels(invstd, case)
    weight = broadcast_channels(case["weight"], case)
    output = apply_numpy_activation(normalized * weight + broadcast_channels(case["bias"], case), case)
    grad_output = as_memory_array(inference["grad_output"], case)
    grad_normalized_output = masked_grad_output(grad_output, output, case)
    grad_input = grad_normalized_output * weight * broadcast_channels(invstd, case)

    assert_close(inference["output"], output.flatten(), f"{label} output")
    assert_close(inference["grad_bias"], grad_normalized_output.sum(axis=axes), f"{label} grad_bias")
    assert_close(
        inference["grad_weight"],
        (grad_normalized_output * normalized).sum(axis=axes),
        f"{label} grad_weight",
    )
    assert_close(inference["grad_input"], grad_input.flatten(), f"{label} grad_input")


def verify_shapes(case):
    element_count = math.prod(case["dimensions"])
    channel_count = case["dimensions"][1]
    assert math.prod(case["memory_dimensions"]) == element_count, case["name"]
    assert len(case["weight"]) == len(case["bias"]) == channel_count, case["name"]
    element_arrays = [case["backward"]["grad_output"], case["backward"]["grad_input"]]
    element_arrays += [case["inference"][key] for key in ("input", "output", "grad_output", "grad_input")]
    for step in case["steps"]:
        element_arrays += [step["input"], step["output"]]
    assert all(len(values) == element_count for values in element_arrays), case["name"]


def verify(case):
    """Recompute a case with plain numpy float64 formulas; raise on mismatch."""
    verify_shapes(case)
    verify_training_steps(case)
    verify_training_backward(case)
    verify_inference(case)


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def write_document(document):
    text = json.dumps(document, separators=(",", ":"), allow_nan=False)
    OUTPUT_PATH.write_text(text + "\n", encoding="utf-8")


def main():
    torch.set_num_threads(1)
    write_document(generate_document())
    document = json.loads(OUTPUT_PATH.read_text(encoding="utf-8"))
    for case in document["cases"]:
        verify(case)
    size_in_kilobytes = OUTPUT_PATH.stat().st_size / 1024
    print(
        f"wrote {OUTPUT_PATH} ({size_in_kilobytes:.1f} KiB, "
        f"{len(document['cases'])} cases, torch {document['torch_version']}); all cases verified"
    )


if __name__ == "__main__":
    main()
