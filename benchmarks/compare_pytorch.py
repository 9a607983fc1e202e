#!/usr/bin/env python3
"""Times `bn bench` and PyTorch on the same shapes, operations and thread counts, in one
invocation, row by row (ours, then PyTorch's, so both see the same machine state), and
prints the ratio per row and the geometric means.

    pip install torch numpy                 # once; tests and CI never need them
    python3 benchmarks/compare_pytorch.py [--threads 1,2] [--seconds 0.5] [--shape 64x100 ...] [--json out.json]
    python3 benchmarks/compare_pytorch.py --training-steps [--threads 1,2] [--seconds 0.5]
    python3 benchmarks/compare_pytorch.py --build portable    # the default build instead
    python3 benchmarks/compare_pytorch.py --dtype bfloat16    # 16-bit x/y/dy/dx, float32 statistics

The script builds `bn` first (release, incrementally). PyTorch picks AVX2/AVX-512 kernels
at run time (it prints which); Swift compiles for one target, so on a CPU with AVX2 and FMA
the script compares our `BN_TARGET_CPU=haswell` build (scripts/bn), the same source
compiled for AVX2, and says so; `--build portable` times the default baseline build,
and `--bn PATH` any binary.

PyTorch runs the same calls its BatchNorm modules make: F.batch_norm (training and
eval) for forward, aten.native_batch_norm_backward (train=True / train=False) for
backward with all three gradients, and again into preallocated outputs
(aten.native_batch_norm.out, native_batch_norm_backward.out): a large new output is
mapped afresh on every call, and its page faults can dominate ("vs out" compares with
that column). Channels-last shapes use torch.channels_last.

With --training-steps it compares whole training steps instead (`bn bench
--training-steps`; the kernel rows too if --shape or --op is also given): the paper's
MLP on [784] at batch 60 and 1024 and a small CNN on [1, 28, 28] at batch 64, as
nn.Sequential (Linear/BatchNorm1d/Sigmoid; Conv2d(padding=1)/BatchNorm2d/ReLU/
MaxPool2d/Flatten/Linear), CrossEntropyLoss and torch.optim.SGD(lr=0.01, momentum=0.9)
on one fixed random batch: zero_grad, forward, loss, backward, step, timed after
3 warm-up steps. The ratio is ours steps/s over PyTorch's (both 1 / median).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import torch

STANDARD_SHAPES = [
    "64x100", "3136x256", "128x2048", "2x8192", "8192x3", "1024x37", "256x1000",
    "1x256x56x56", "32x64x56x56", "64x256x14x14", "8x32x224x224", "16x3x64x64",
    "nhwc:1x56x56x256", "nhwc:32x56x56x64", "nhwc:64x14x14x256", "nhwc:8x224x224x32", "nhwc:16x64x64x3",
]
OPERATIONS = ["inference-forward", "training-forward", "backward", "frozen-backward"]


def parse_shape(text):
    """(logical NCHW dimensions, channels_last) from our shape syntax."""
    layout, _, body = text.rpartition(":")
    sizes = [int(size) for size in body.split("x")]
    if layout in ("nhwc", "ndhwc", "nlc", "channels-last") and len(sizes) > 2:
        return [sizes[0], sizes[-1]] + sizes[1:-1], True
    return sizes, False


def median_time(function, seconds):
    function()
    durations = []
    deadline = time.perf_counter() + seconds
    while len(durations) < 5 or time.perf_counter() < deadline:
        start = time.perf_counter()
        function()
        durations.append(time.perf_counter() - start)
    durations.sort()
    return durations[len(durations) // 2]


TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def torch_time(shape_text, operation, threads, seconds, dtype="float32", preallocated=False):
    """PyTorch's median seconds: as its users call it (a new output per call), or with
    preallocated=True into outputs made once (aten's .out overloads), which takes the
    page faults of freshly mapped large outputs out of the timing. For float16 and
    bfloat16, x and dy are half and weight, bias and the running statistics float32
    (PyTorch's mixed type, as model.half() with BatchNorm kept in float32 would run)."""
    torch.set_num_threads(threads)
    dimensions, channels_last = parse_shape(shape_text)
    x = torch.randn(*dimensions).to(TORCH_DTYPES[dtype])
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last if x.dim() == 4 else torch.channels_last_3d)
    channels = dimensions[1]
    weight, bias = torch.ones(channels), torch.zeros(channels)
    running_mean, running_var = torch.zeros(channels), torch.ones(channels)
    functional = torch.nn.functional
    aten = torch.ops.aten
    with torch.no_grad():
        if preallocated:
            output, save_mean, save_invstd = torch.native_batch_norm(x, weight, bias, running_mean, running_var, True, 0.1, 1e-5)
            if operation in ("inference-forward", "training-forward"):
                training = operation == "training-forward"
                mean_out, invstd_out = torch.empty_like(save_mean), torch.empty_like(save_invstd)
                return median_time(lambda: aten.native_batch_norm.out(
                    x, weight, bias, running_mean, running_var, training, 0.1, 1e-5,
                    out=output, save_mean=mean_out, save_invstd=invstd_out), seconds)
            grad_output = torch.randn_like(output)
            grad_input, grad_weight, grad_bias = torch.empty_like(x), torch.empty_like(weight), torch.empty_like(bias)
            training = operation == "backward"
            return median_time(lambda: aten.native_batch_norm_backward.out(
                grad_output, x, weight, running_mean, running_var, save_mean if training else None,
                save_invstd if training else None, training, 1e-5, [True, True, True],
                out0=grad_input, out1=grad_weight, out2=grad_bias), seconds)
        if operation == "inference-forward":
            return median_time(lambda: functional.batch_norm(x, running_mean, running_var, weight, bias, False, 0.1, 1e-5), seconds)
        if operation == "training-forward":
            return median_time(lambda: functional.batch_norm(x, running_mean, running_var, weight, bias, True, 0.1, 1e-5), seconds)
        output, save_mean, save_invstd = torch.native_batch_norm(x, weight, bias, running_mean, running_var, True, 0.1, 1e-5)
        grad_output = torch.randn_like(output)
        backward = torch.ops.aten.native_batch_norm_backward
        if operation == "backward":
            return median_time(lambda: backward(grad_output, x, weight, running_mean, running_var, save_mean, save_invstd,
                                                True, 1e-5, [True, True, True]), seconds)
        return median_time(lambda: backward(grad_output, x, weight, running_mean, running_var, None, None,
                                            False, 1e-5, [True, True, True]), seconds)


TRAINING_ROWS = [("mlp", 60), ("mlp", 1024), ("cnn", 64)]
TRAINING_WARM_UP_STEPS = 3


def torch_model(model):
    nn = torch.nn
    if model == "mlp":
        layers = []
        features = 784
        for _ in range(3):
            layers += [nn.Linear(features, 100), nn.BatchNorm1d(100), nn.Sigmoid()]
            features = 100
        return nn.Sequential(*layers, nn.Linear(100, 10)), [784]
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, stride=1, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, stride=1, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 10)), [1, 28, 28]


def torch_training_step_time(model_name, batch, threads, seconds):
    """Median seconds of one training step, as `bn bench --training-steps` times ours."""
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model, sample_shape = torch_model(model_name)
    model.train()
    x = torch.randn(batch, *sample_shape)
    labels = torch.randint(0, 10, (batch,))
    loss_function = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        optimizer.zero_grad()
        loss = loss_function(model(x), labels)
        loss.backward()
        optimizer.step()

    for _ in range(TRAINING_WARM_UP_STEPS - 1):  # median_time runs one more
        step()
    return median_time(step, seconds)


def our_training_row(bn, model, batch, threads, seconds):
    result = subprocess.run(
        [bn, "bench", "--training-steps", "--model", model, "--batch", str(batch), "--threads", str(threads),
         "--seconds", str(seconds), "--json", "-"],
        check=True, capture_output=True, text=True)
    return json.loads(result.stdout)[0]


def compare_training_steps(arguments):
    rows = []
    print(f"{'model':6} {'batch':>6} {'thr':>3} {'ours steps/s':>13} {'torch steps/s':>14} {'ratio':>7}")
    for model, batch in TRAINING_ROWS:
        for threads in [int(value) for value in arguments.threads.split(",")]:
            ours = our_training_row(arguments.bn, model, batch, threads, arguments.seconds)
            theirs = 1 / torch_training_step_time(model, batch, threads, arguments.seconds)
            ratio = ours["steps_per_second"] / theirs
            rows.append(dict(ours, torch_steps_per_second=theirs, ratio=ratio))
            print(f"{model:6} {batch:>6} {threads:>3} {ours['steps_per_second']:>13.1f} {theirs:>14.1f} {ratio:>6.2f}x", flush=True)
    print()
    print(f"geometric mean ratio, training steps: {geometric_mean([row['ratio'] for row in rows]):.2f}x over {len(rows)} rows; "
          f"rows at or above 1.0x: {sum(row['ratio'] >= 1 for row in rows)} of {len(rows)}")
    return rows


def geometric_mean(values):
    return math.exp(sum(math.log(value) for value in values) / len(values)) if values else float("nan")


def cpu_has_avx2_and_fma():
    try:
        with open("/proc/cpuinfo") as file:
            flags = next((line.split(":", 1)[1].split() for line in file if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx2" in flags and "fma" in flags


def build_bn(build):
    """Builds bn (release, incrementally) and returns its path: the haswell build when asked
    for, or by default where the CPU has AVX2 and FMA; the portable build otherwise."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    if build == "auto":
        build = "haswell" if cpu_has_avx2_and_fma() else "portable"
    command = ["swift", "build", "-c", "release", "--package-path", root, "--product", "bn"]
    scratch = os.path.join(root, ".build")
    if build == "haswell":
        scratch = os.path.join(root, ".build-haswell")
        command += ["--scratch-path", scratch, "-Xswiftc", "-target-cpu", "-Xswiftc", "haswell"]
    print(f"building bn ({build}): {' '.join(command)}", file=sys.stderr, flush=True)
    subprocess.run(command, check=True, stdout=sys.stderr)
    return os.path.join(scratch, "release", "bn")


def our_row(bn, shape_text, operation, threads, seconds, dtype="float32"):
    result = subprocess.run(
        [bn, "bench", "--shape", shape_text, "--op", operation, "--threads", str(threads), "--seconds", str(seconds),
         "--dtype", dtype, "--json", "-"],
        check=True, capture_output=True, text=True)
    return json.loads(result.stdout)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", choices=["auto", "portable", "haswell"], default="auto",
                        help="which build of bn to time (default: haswell where the CPU has AVX2 and FMA)")
    parser.add_argument("--bn", help="time this binary instead of building one")
    parser.add_argument("--shape", action="append", help="repeatable; default: the standard set")
    parser.add_argument("--op", action="append", choices=OPERATIONS, help="repeatable; default: all")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--dtype", choices=list(TORCH_DTYPES), default="float32",
                        help="element type of x, y, dy, dx (16-bit types: float32 statistics and parameters on both sides)")
    parser.add_argument("--training-steps", action="store_true",
                        help="compare training steps (MLP, CNN) instead; with --shape or --op, after the kernel rows")
    arguments = parser.parse_args()
    if arguments.bn is None:
        arguments.bn = build_bn(arguments.build)
    elif not os.path.exists(arguments.bn):
        sys.exit(f"error: {arguments.bn} not found")
    print(f"ours: {arguments.bn}")

    rows = []
    if arguments.training_steps:
        if arguments.shape or arguments.op:
            rows += compare_kernels(arguments)
            print()
        rows += compare_training_steps(arguments)
        print(f"torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()} kernels), {time.strftime('%Y-%m-%d')}")
    else:
        rows += compare_kernels(arguments)
    if arguments.json:
        with open(arguments.json, "w") as file:
            json.dump(rows, file, indent=1)


def compare_kernels(arguments):
    """Per row: ours, PyTorch as its users call it, PyTorch into preallocated outputs; the
    speed-up is over the first, "vs out" over the second."""
    rows = []
    dtype = arguments.dtype
    print(f"dtype {dtype}")
    print(f"{'shape':22} {'op':18} {'thr':>3} {'ours µs':>10} {'torch µs':>10} {'out µs':>10} {'speed-up':>9} {'vs out':>7} "
          f"{'GB/s':>6} {'r+w GB/s':>9} {'share':>6}")
    for shape_text in arguments.shape or STANDARD_SHAPES:
        for threads in [int(value) for value in arguments.threads.split(",")]:
            for operation in arguments.op or OPERATIONS:
                ours = our_row(arguments.bn, shape_text, operation, threads, arguments.seconds, dtype)
                theirs = torch_time(shape_text, operation, threads, arguments.seconds, dtype)
                theirs_out = torch_time(shape_text, operation, threads, arguments.seconds, dtype, preallocated=True)
                speedup = theirs / ours["median_seconds"]
                speedup_out = theirs_out / ours["median_seconds"]
                rows.append(dict(ours, shape_text=shape_text, torch_median_seconds=theirs, torch_out_median_seconds=theirs_out,
                                 speedup=speedup, speedup_over_out=speedup_out))
                print(f"{shape_text:22} {operation:18} {threads:>3} {ours['median_seconds'] * 1e6:>10.1f} {theirs * 1e6:>10.1f} "
                      f"{theirs_out * 1e6:>10.1f} {speedup:>8.2f}x {speedup_out:>6.2f}x {ours['gigabytes_per_second']:>6.1f} "
                      f"{ours['read_write_gigabytes_per_second']:>9.1f} {ours['roofline_share'] * 100:>5.0f}%", flush=True)

    print()
    for operation in arguments.op or OPERATIONS:
        selected = [row for row in rows if row["op"] == operation]
        print(f"geometric mean speed-up, {operation}: {geometric_mean([row['speedup'] for row in selected]):.2f}x "
              f"(vs preallocated {geometric_mean([row['speedup_over_out'] for row in selected]):.2f}x) over {len(selected)} rows")
    print(f"geometric mean speed-up, all: {geometric_mean([row['speedup'] for row in rows]):.2f}x "
          f"(vs preallocated {geometric_mean([row['speedup_over_out'] for row in rows]):.2f}x); "
          f"rows at or above 1.0x: {sum(row['speedup'] >= 1 for row in rows)} of {len(rows)} "
          f"({sum(row['speedup_over_out'] >= 1 for row in rows)} vs preallocated)")
    print(f"torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()} kernels), {time.strftime('%Y-%m-%d')}")
    return rows


if __name__ == "__main__":
    main()
