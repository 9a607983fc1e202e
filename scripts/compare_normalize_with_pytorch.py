#!/usr/bin/env python3
"""Check `bn normalize` against PyTorch on random shapes and options.

    python3 scripts/compare_normalize_with_pytorch.py [--bn PATH] [--cases 40] [--seed 0]

Needs torch, numpy and safetensors (pip install torch numpy safetensors). The tests and
CI never run this script; it is a cross-check for people changing the kernels.

Every case is drawn from its own generator seeded with (seed, case number), so
`--seed S --case K` reruns exactly one case, and `--keep` keeps its files. A failing
case keeps its directory and prints the bn commands that reproduce it.

What a case draws: rank 2-5, sizes 1-9 per dimension (sometimes 11, 13 or 17), C from 1
to 40, float32 or float64, channels-first or channels-last (the .npy is written in
(N, ..., C) memory order and --channels-last is passed), data with per-channel offsets
and scales (scale 0.01-100, |offset| up to 20 scales, sometimes a constant channel),
optional --scale/--shift, epsilon (1e-5, 1e-3, 0.1), momentum (0.1, 0.3, 1) or
--cumulative, --biased-running-variance, --threads, and one of: a training step; a chain
of 2-3 training steps, each passing the previous --save-state as --state (the sizes
may change between steps); training then inference with --state; inference alone; or
batch-statistics. The first state is bn's default or, sometimes, one written by
PyTorch with safetensors.torch.save_file. Any step may add --grad-output with some of
--grad-input/--grad-scale/--grad-shift.

The reference is PyTorch's BatchNorm{1,2,3}d (F.batch_norm for batch-statistics,
autograd for the gradients, training=True or False as bn's mode) computed in float64
on the (exact) input values. The state file stores the running statistics, weight and
bias as float32 (documented, also for float64 inputs), so the reference rounds its
state to float32 between steps as the file does. PyTorch only accumulates the unbiased
variance, so with --biased-running-variance the running variance is computed by hand:
(1 - f)·running_var + f·biased batch variance, f = momentum or 1/num_batches_tracked.

For float32 inputs the script also runs the same chain natively in float32 in PyTorch
and reports how far bn is from that, without failing on it: PyTorch's own float32
rounding can exceed the tolerance (on a constant channel PyTorch's float32 mean is off
by an ulp, divided by sqrt(epsilon), while bn returns exactly the shift).

Tolerance: |bn - reference| <= tol · max(1, max|reference|) per array, tol 1e-5 for
float32 and 1e-10 for float64, for outputs, gradients, running statistics and the saved
weight and bias, except that for ∂loss/∂input the scale is also at least the largest
sum of |terms| of its formula, γ·invstd·(|dy| + |mean dy| + |x̂·mean(dy·x̂)|): those
terms cancel (2 values per channel, small sigma), and a float32 ∂x, PyTorch's too, is
only good to ~1e-7 of them (seed 0 case 449 of 500: ∂x 5.0 from terms of 155, bn off
by 9.3e-5, PyTorch float32 by 8.3e-5); num_batches_tracked must be equal; outputs must keep the input's dtype
and memory layout. Every --save-state file must hold float32 running statistics and an
int64 num_batches_tracked, and load with safetensors.torch.load_file into
torch.nn.BatchNorm{1,2,3}d(C) (1d for rank 2 and 3) with load_state_dict(strict=True).

Fixed cases check the error paths: a (1, C) input in training (also (1, C, 1, 1) and a
channels-last (1, 1, C)), a scale or shift file of the wrong length and an int64 input
must exit non-zero with a one-line message and leave no file behind (outputs, state,
gradients, temporary files).
"""

import argparse
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

TOLERANCE = {"float32": 1e-5, "float64": 1e-10}
MAX_ELEMENTS = 300_000          # keeps a debug build fast
BN_CLASS = {2: torch.nn.BatchNorm1d, 3: torch.nn.BatchNorm1d,
            4: torch.nn.BatchNorm2d, 5: torch.nn.BatchNorm3d}
CATEGORIES = ("output", "running stats", "gradients", "saved weight/bias")


# ---------------------------------------------------------------------------------
# Drawing a case
# ---------------------------------------------------------------------------------

def draw_dim(rng):
    if rng.random() < 0.1:
        return int(rng.choice([11, 13, 17]))
    return int(rng.integers(1, 10))


def draw_shape(rng, rank, channels, min_per_channel):
    """(N, C, *spatial), channels-first, with at least min_per_channel values per channel."""
    for _ in range(10_000):
        n = draw_dim(rng)
        spatial = [draw_dim(rng) for _ in range(rank - 2)]
        m = n * math.prod(spatial)
        if m >= min_per_channel and m * channels <= MAX_ELEMENTS:
            return (n, channels, *spatial)
    raise RuntimeError("could not draw a shape")


def draw_case(seed, index):
    rng = np.random.default_rng([seed, index])
    case = {"index": index, "rng": rng}
    case["rank"] = rank = int(rng.integers(2, 6))
    if rng.random() < 0.15:
        case["C"] = int(rng.choice([13, 17, 37, 40]))
    else:
        case["C"] = int(rng.integers(1, 41))
    case["dtype"] = str(rng.choice(["float32", "float64"]))
    case["channels_last"] = bool(rng.random() < 0.5)
    case["epsilon"] = None if rng.random() < 0.2 else float(rng.choice([1e-5, 1e-3, 0.1]))
    case["cumulative"] = bool(rng.random() < 0.25)
    if case["cumulative"]:
        case["momentum"] = None
    else:
        case["momentum"] = None if rng.random() < 0.2 else float(rng.choice([0.1, 0.3, 1.0]))
    case["biased"] = bool(rng.random() < 0.3)
    case["threads"] = None if rng.random() < 0.7 else int(rng.integers(1, 4))

    kind = str(rng.choice(["train", "chain", "chain+inference", "inference", "batch-statistics"],
                          p=[0.3, 0.25, 0.15, 0.15, 0.15]))
    case["kind"] = kind
    if kind == "train":
        modes = ["training"]
    elif kind == "chain":
        modes = ["training"] * int(rng.integers(2, 4))
    elif kind == "chain+inference":
        modes = ["training"] * int(rng.integers(1, 3)) + ["inference"]
    elif kind == "inference":
        modes = ["inference"]
    else:
        modes = ["batch-statistics"]

    # Where the first step's state comes from: None (bn's default 0, 1, 0 batches) or a
    # state written by PyTorch with safetensors.torch.save_file.
    needs_state = modes[0] == "inference"
    if needs_state or rng.random() < 0.3:
        case["initial_state"] = {"affine": bool(rng.random() < 0.6),
                                 "batches": int(rng.choice([0, 1, int(rng.integers(2, 1000))]))}
    else:
        case["initial_state"] = None

    same_shape = rng.random() < 0.5
    first_shape = None
    steps = []
    for i, mode in enumerate(modes):
        min_m = 1 if mode == "inference" else 2
        if first_shape is not None and same_shape:
            shape = first_shape
        else:
            shape = draw_shape(rng, rank, case["C"], min_m)
        first_shape = first_shape or shape
        grads = []
        if rng.random() < 0.4:
            while not grads:
                grads = [g for g in ("input", "scale", "shift") if rng.random() < 0.6]
        steps.append({
            "mode": mode,
            "shape": shape,
            "scale": bool(rng.random() < 0.5),
            "shift": bool(rng.random() < 0.5),
            "grads": grads,
            # training steps always save (that is what is compared); others sometimes
            "save_state": mode == "training" or bool(rng.random() < 0.5),
        })
    case["steps"] = steps
    return case


def draw_data(rng, shape, dtype):
    """Channels-first data with per-channel offsets and scales; sometimes a constant channel.

    The noise is standardized over each channel's batch, so a channel's batch mean and
    standard deviation are its offset and scale (up to rounding): |mean|/sigma <= 20 for
    every batch, also with 2 values per channel, where a raw sample's sigma can be
    arbitrarily small. That bounds the conditioning the float32 tolerance assumes (an
    output in float32 is only good to about |mean|/sigma * 6e-8 relative, in PyTorch too).
    """
    C = shape[1]
    scales = 10.0 ** rng.uniform(-2, 2, size=C)
    offsets = scales * rng.uniform(-20, 20, size=C)
    z = rng.standard_normal(shape)
    dims = tuple(d for d in range(len(shape)) if d != 1)
    if math.prod(shape) // C >= 2:
        z -= z.mean(axis=dims, keepdims=True)
        z /= z.std(axis=dims, keepdims=True)
    if C > 1 and rng.random() < 0.1:
        # A constant channel, which must normalize to exactly the shift. PyTorch's float64
        # mean of a constant is off by an ulp or so, and that ulp is divided by
        # sqrt(epsilon) (5.8e-11 for constants up to 2000, epsilon 1e-5): a small value
        # with few significant bits keeps PyTorch's own error near 1e-12.
        c = int(rng.integers(0, C))
        scales[c] = 0.0
        offsets[c] = np.round(rng.uniform(-20, 20) * 16) / 16
    bshape = (1, C) + (1,) * (len(shape) - 2)
    x = offsets.reshape(bshape) + scales.reshape(bshape) * z
    return x.astype(dtype)


def describe(case):
    names = ["N", "C"] + {2: [], 3: ["L"], 4: ["H", "W"], 5: ["D", "H", "W"]}[case["rank"]]
    shape = case["steps"][0]["shape"]
    if case["channels_last"]:
        names = [names[0]] + names[2:] + [names[1]]
        shape = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    shapes = "x".join(map(str, shape))
    if any(s["shape"] != case["steps"][0]["shape"] for s in case["steps"]):
        shapes += ",…"
    parts = [case["dtype"], "(%s)=%s" % (",".join(names), shapes),
             "channels-last" if case["channels_last"] else "channels-first"]
    parts.append("+".join({"training": "train", "inference": "infer",
                           "batch-statistics": "batchstat"}[s["mode"]] for s in case["steps"]))
    if case["initial_state"] is not None:
        parts.append("torch-state%s(nbt=%d)" % ("+affine" if case["initial_state"]["affine"] else "",
                                                case["initial_state"]["batches"]))
    parts.append("eps=%g" % (case["epsilon"] if case["epsilon"] is not None else 1e-5))
    if case["cumulative"]:
        parts.append("cumulative")
    else:
        parts.append("momentum=%g" % (case["momentum"] if case["momentum"] is not None else 0.1))
    if case["biased"]:
        parts.append("biased")
    flags = set()
    for s in case["steps"]:
        if s["scale"]:
            flags.add("scale")
        if s["shift"]:
            flags.add("shift")
        for g in s["grads"]:
            flags.add("grad-" + g)
    if flags:
        parts.append(",".join(sorted(flags)))
    if case["threads"]:
        parts.append("threads=%d" % case["threads"])
    return " ".join(parts)


# ---------------------------------------------------------------------------------
# The PyTorch reference
# ---------------------------------------------------------------------------------

def round_to_float32(t):
    return None if t is None else t.to(torch.float32).to(t.dtype)


def initial_reference_state(case, torch_state, dtype):
    C = case["C"]
    if torch_state is None:
        return {"running_mean": torch.zeros(C, dtype=dtype), "running_var": torch.ones(C, dtype=dtype),
                "num_batches_tracked": 0, "weight": None, "bias": None}
    return {"running_mean": torch_state["running_mean"].to(dtype),
            "running_var": torch_state["running_var"].to(dtype),
            "num_batches_tracked": int(torch_state["num_batches_tracked"]),
            "weight": torch_state["weight"].to(dtype) if "weight" in torch_state else None,
            "bias": torch_state["bias"].to(dtype) if "bias" in torch_state else None}


def input_gradient_terms(x, dy, weight, eps, mode, state):
    """max over elements of the sum of |terms| of ∂loss/∂input, in float64.

    With batch statistics ∂x = γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)), and the three
    terms can cancel to almost nothing (2 values per channel and a small sigma make
    ∂x ≈ 0 while γ·invstd·|dy| is in the hundreds); a float32 result, PyTorch's included,
    is then only good to about 1e-7 of the terms, not of ∂x. In inference ∂x = γ·invstd·dy.
    """
    x, dy, weight = x.double(), dy.double(), weight.double()
    dims = [d for d in range(x.dim()) if d != 1]
    shape = [1, -1] + [1] * (x.dim() - 2)
    if mode == "inference":
        invstd = 1 / torch.sqrt(state["running_var"].double() + eps)
        terms = dy.abs()
    else:
        mean = x.mean(dim=dims, keepdim=True)
        invstd = 1 / torch.sqrt(x.var(dim=dims, unbiased=False) + eps)
        xhat = (x - mean) * invstd.reshape(shape)
        terms = (dy.abs() + dy.mean(dim=dims, keepdim=True).abs()
                 + (xhat * (dy * xhat).mean(dim=dims, keepdim=True)).abs())
    return float((weight.abs() * invstd).reshape(shape).mul(terms).max())


def reference_step(case, step, x_cf, dy_cf, scale, shift, state, dtype, round_state):
    """One bn step in PyTorch; returns (y, grads dict, new state), all channels-first."""
    C = case["C"]
    eps = case["epsilon"] if case["epsilon"] is not None else 1e-5
    momentum = None if case["cumulative"] else (case["momentum"] if case["momentum"] is not None else 0.1)
    weight = (torch.tensor(scale, dtype=dtype) if scale is not None
              else state["weight"] if state["weight"] is not None else torch.ones(C, dtype=dtype))
    bias = (torch.tensor(shift, dtype=dtype) if shift is not None
            else state["bias"] if state["bias"] is not None else torch.zeros(C, dtype=dtype))
    x = torch.tensor(x_cf, dtype=dtype, requires_grad=dy_cf is not None)
    new_state = {k: (v.clone() if torch.is_tensor(v) else v) for k, v in state.items()}

    if step["mode"] == "batch-statistics":
        w = weight.clone().requires_grad_(True)
        b = bias.clone().requires_grad_(True)
        y = F.batch_norm(x, None, None, w, b, training=True, eps=eps)
    else:
        module = BN_CLASS[case["rank"]](C, eps=eps, momentum=momentum, dtype=dtype)
        with torch.no_grad():
            module.weight.copy_(weight)
            module.bias.copy_(bias)
            module.running_mean.copy_(state["running_mean"])
            module.running_var.copy_(state["running_var"])
            module.num_batches_tracked.fill_(state["num_batches_tracked"])
        module.train(step["mode"] == "training")
        y = module(x)
        w, b = module.weight, module.bias
        if step["mode"] == "training":
            new_state["running_mean"] = module.running_mean.detach().clone()
            new_state["running_var"] = module.running_var.detach().clone()
            new_state["num_batches_tracked"] = int(module.num_batches_tracked)
            if case["biased"]:
                # PyTorch only accumulates the unbiased variance: by hand.
                f = 1.0 / new_state["num_batches_tracked"] if momentum is None else momentum
                dims = [d for d in range(x.dim()) if d != 1]
                biased = x.detach().var(dim=dims, unbiased=False)
                new_state["running_var"] = (1 - f) * state["running_var"] + f * biased

    grads = {}
    if dy_cf is not None:
        y.backward(torch.tensor(dy_cf, dtype=dtype))
        grads = {"input": x.grad.detach().numpy(), "scale": w.grad.detach().numpy(),
                 "shift": b.grad.detach().numpy()}
        grads["input_terms"] = input_gradient_terms(x.detach(), torch.tensor(dy_cf, dtype=dtype), weight, eps,
                                                    step["mode"], state)
    new_state["weight"] = weight.detach().clone()
    new_state["bias"] = bias.detach().clone()
    if round_state:  # the state file holds float32
        for k in ("running_mean", "running_var", "weight", "bias"):
            new_state[k] = round_to_float32(new_state[k])
    return y.detach().numpy(), grads, new_state


# ---------------------------------------------------------------------------------
# Running a case
# ---------------------------------------------------------------------------------

class CaseResult:
    def __init__(self, dtype):
        self.dtype = dtype
        self.failures = []
        self.notes = []
        self.worst = {}         # (category, reference) -> (scaled error, absolute error)

    def compare(self, category, reference, what, got, expected, enforce=True, floor=0.0):
        got = np.asarray(got, dtype=np.float64)
        expected = np.asarray(expected, dtype=np.float64)
        if got.shape != expected.shape:
            self.failures.append("%s: shape %s, expected %s" % (what, got.shape, expected.shape))
            return
        if not np.all(np.isfinite(got)):
            self.failures.append("%s: non-finite values" % what)
            return
        absolute = float(np.max(np.abs(got - expected))) if got.size else 0.0
        scale = max(1.0, floor, float(np.max(np.abs(expected))) if expected.size else 1.0)
        scaled = absolute / scale
        key = (category, reference)
        if key not in self.worst or scaled > self.worst[key][0]:
            self.worst[key] = (scaled, absolute)
        if scaled > TOLERANCE[self.dtype]:
            if not enforce:
                self.notes.append("%s: PyTorch float32 itself is off by %.3g scaled" % (what, scaled))
                return
            i = np.unravel_index(int(np.argmax(np.abs(got - expected))), got.shape) if got.ndim else ()
            self.failures.append("%s vs %s: max |diff| %.3g at %s (bn %.17g, torch %.17g), scale %.3g, "
                                 "scaled %.3g > %g" % (what, reference, absolute, tuple(int(v) for v in i),
                                                       got[i], expected[i], scale, scaled,
                                                       TOLERANCE[self.dtype]))

    def fail(self, message):
        self.failures.append(message)


def to_memory_order(a_cf, channels_last):
    return np.ascontiguousarray(np.moveaxis(a_cf, 1, -1) if channels_last else a_cf)


def from_memory_order(a, channels_last):
    return np.moveaxis(a, -1, 1) if channels_last else a


def run_bn(cmd, log):
    log.append(" ".join(shlex.quote(c) for c in cmd))
    started = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return p, time.perf_counter() - started


def check_state_file(path, case, result, what):
    """Loads a --save-state file into torch.nn.BatchNorm{1,2,3}d(C) strictly; returns its tensors."""
    try:
        tensors = load_file(path)
    except Exception as e:  # noqa: BLE001
        result.fail("%s: safetensors.torch.load_file failed: %s" % (what, e))
        return None
    C = case["C"]
    expected_dtypes = {"running_mean": torch.float32, "running_var": torch.float32,
                       "num_batches_tracked": torch.int64}
    for k, dt in expected_dtypes.items():
        if k not in tensors:
            result.fail("%s: no %s" % (what, k))
            return None
        if tensors[k].dtype != dt:
            result.fail("%s: %s is %s, expected %s" % (what, k, tensors[k].dtype, dt))
    affine = "weight" in tensors
    module = BN_CLASS[case["rank"]](C, affine=affine)
    try:
        module.load_state_dict(tensors, strict=True)
    except Exception as e:  # noqa: BLE001
        result.fail("%s: %s(%d, affine=%s).load_state_dict(strict=True) failed: %s"
                    % (what, type(module).__name__, C, affine, str(e).replace("\n", " ")))
    return tensors


def write_torch_state(case, path, rng):
    """A state written by PyTorch itself (save_file of a float32 module's state_dict)."""
    C = case["C"]
    spec = case["initial_state"]
    module = BN_CLASS[case["rank"]](C, affine=spec["affine"])
    with torch.no_grad():
        module.running_mean.copy_(torch.tensor(rng.uniform(-10, 10, C)))
        module.running_var.copy_(torch.tensor(10.0 ** rng.uniform(-2, 3, C)))
        module.num_batches_tracked.fill_(spec["batches"])
        if spec["affine"]:
            module.weight.copy_(torch.tensor(rng.uniform(-3, 3, C)))
            module.bias.copy_(torch.tensor(rng.uniform(-5, 5, C)))
    state = {k: v.detach().clone().contiguous() for k, v in module.state_dict().items()}
    save_file(state, path)
    return load_file(path)


def run_case(case, bn, workdir):
    rng = case["rng"]
    dtype = case["dtype"]
    cl = case["channels_last"]
    C = case["C"]
    result = CaseResult(dtype)
    log = []
    bn_seconds = 0.0

    torch_state = None
    if case["initial_state"] is not None:
        torch_state = write_torch_state(case, os.path.join(workdir, "torch_state.safetensors"), rng)
    # The references: float64 with the state rounded to float32 between steps (what the
    # file holds), and for float32 inputs PyTorch natively in float32 as well.
    references = {"torch-f64": (torch.float64, True)}
    if dtype == "float32":
        references["torch-f32"] = (torch.float32, False)
    ref_states = {name: initial_reference_state(case, torch_state, dt) for name, (dt, _) in references.items()}
    state_path = os.path.join(workdir, "torch_state.safetensors") if torch_state is not None else None

    for si, step in enumerate(case["steps"]):
        p = lambda name: os.path.join(workdir, "step%d_%s" % (si, name))  # noqa: E731
        x_cf = draw_data(rng, step["shape"], dtype)
        np.save(p("x.npy"), to_memory_order(x_cf, cl))
        cmd = [bn, "normalize", p("x.npy"), "--output", p("y.npy"), "--mode", step["mode"], "-q"]
        if cl:
            cmd.append("--channels-last")
        if case["epsilon"] is not None:
            cmd += ["--epsilon", repr(case["epsilon"])]
        if case["cumulative"]:
            cmd.append("--cumulative")
        elif case["momentum"] is not None:
            cmd += ["--momentum", repr(case["momentum"])]
        if case["biased"]:
            cmd.append("--biased-running-variance")
        if case["threads"]:
            cmd += ["--threads", str(case["threads"])]
        scale = shift = None
        if step["scale"]:
            scale = rng.uniform(-3, 3, C).astype(dtype)
            np.save(p("scale.npy"), scale)
            cmd += ["--scale", p("scale.npy")]
        if step["shift"]:
            shift = rng.uniform(-5, 5, C).astype(dtype)
            np.save(p("shift.npy"), shift)
            cmd += ["--shift", p("shift.npy")]
        if state_path is not None:
            cmd += ["--state", state_path]
        dy_cf = None
        if step["grads"]:
            dy_cf = (rng.standard_normal(step["shape"]) * rng.uniform(0.5, 2.0)).astype(dtype)
            np.save(p("dy.npy"), to_memory_order(dy_cf, cl))
            cmd += ["--grad-output", p("dy.npy")]
            for g in step["grads"]:
                cmd += ["--grad-" + g, p("grad_%s.npy" % g)]
        if step["save_state"]:
            cmd += ["--save-state", p("state.safetensors")]

        proc, seconds = run_bn(cmd, log)
        bn_seconds += seconds
        if proc.returncode != 0:
            result.fail("step %d: bn exited %d: %s" % (si, proc.returncode, proc.stderr.strip()))
            break

        got_y = np.load(p("y.npy"))
        if got_y.dtype != np.dtype(dtype) or got_y.shape != to_memory_order(x_cf, cl).shape:
            result.fail("step %d: output is %s %s, expected %s %s" % (
                si, got_y.dtype, got_y.shape, dtype, to_memory_order(x_cf, cl).shape))
            break
        got_grads = {}
        for g in step["grads"]:
            a = np.load(p("grad_%s.npy" % g))
            if a.dtype != np.dtype(dtype):
                result.fail("step %d: grad-%s is %s, expected %s" % (si, g, a.dtype, dtype))
            got_grads[g] = from_memory_order(a, cl) if g == "input" else a
        got_state = None
        if step["save_state"]:
            got_state = check_state_file(p("state.safetensors"), case, result, "step %d state" % si)

        for name, (tdtype, round_state) in references.items():
            enforce = name == "torch-f64"   # PyTorch in float32 is a comparison, not the judge
            y, grads, new_state = reference_step(case, step, x_cf, dy_cf, scale, shift,
                                                 ref_states[name], tdtype, round_state)
            ref_states[name] = new_state
            result.compare("output", name, "step %d output" % si, from_memory_order(got_y, cl), y, enforce)
            for g in step["grads"]:
                result.compare("gradients", name, "step %d grad-%s" % (si, g), got_grads[g], grads[g], enforce,
                               floor=grads["input_terms"] if g == "input" else 0.0)
            if got_state is not None:
                for k in ("running_mean", "running_var"):
                    result.compare("running stats", name, "step %d %s" % (si, k),
                                   got_state[k].numpy(), new_state[k].numpy(), enforce)
                if int(got_state["num_batches_tracked"]) != new_state["num_batches_tracked"]:
                    result.fail("step %d num_batches_tracked: bn %d, torch %d" % (
                        si, int(got_state["num_batches_tracked"]), new_state["num_batches_tracked"]))
                # weight and bias as used (from --scale/--shift or the state)
                for k in ("weight", "bias"):
                    if k in got_state:
                        result.compare("saved weight/bias", name, "step %d saved %s" % (si, k),
                                       got_state[k].numpy(), new_state[k].numpy(), enforce)
                    else:
                        result.fail("step %d state: no %s" % (si, k))
        if step["save_state"]:
            state_path = p("state.safetensors")
    return result, log, bn_seconds


# ---------------------------------------------------------------------------------
# Error paths
# ---------------------------------------------------------------------------------

def error_cases(bn, workroot):
    """(name, files to write, extra args, expected message fragment)."""
    rng = np.random.default_rng(12345)
    cases = [
        ("(1, C) input in training", {"x.npy": rng.standard_normal((1, 5)).astype(np.float32)},
         [], "more than 1 value per channel"),
        ("(1, C, 1, 1) input in training", {"x.npy": rng.standard_normal((1, 3, 1, 1))},
         [], "more than 1 value per channel"),
        ("(1, 1, C) channels-last in training", {"x.npy": rng.standard_normal((1, 1, 4)).astype(np.float32)},
         ["--channels-last"], "more than 1 value per channel"),
        ("scale file of the wrong length", {"x.npy": rng.standard_normal((4, 3, 5)).astype(np.float32),
                                            "scale.npy": np.ones(2, np.float32)},
         ["--scale", "scale.npy"], ""),
        ("shift file of the wrong length", {"x.npy": rng.standard_normal((4, 6)),
                                            "shift.npy": np.zeros(7)},
         ["--shift", "shift.npy"], ""),
        ("int64 input", {"x.npy": rng.integers(0, 10, (4, 3, 2)).astype(np.int64)}, [], "int64"),
    ]
    results = []
    for name, files, extra, fragment in cases:
        d = tempfile.mkdtemp(prefix="err-", dir=workroot)
        for fname, arr in files.items():
            np.save(os.path.join(d, fname), arr)
        x = files["x.npy"]
        dy_axes = x.shape
        np.save(os.path.join(d, "dy.npy"), np.ones(dy_axes, x.dtype if x.dtype.kind == "f" else np.float32))
        before = sorted(os.listdir(d))
        cmd = [bn, "normalize", "x.npy", "--output", "y.npy", "--save-state", "state.safetensors",
               "--grad-output", "dy.npy", "--grad-input", "dx.npy", "--grad-scale", "dg.npy",
               "--grad-shift", "db.npy"] + extra
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=d, timeout=120)
        after = sorted(os.listdir(d))
        lines = [l for l in (p.stderr + p.stdout).splitlines() if l.strip()]
        problems = []
        if p.returncode == 0:
            problems.append("exit status 0")
        if len(lines) != 1:
            problems.append("%d lines of output: %r" % (len(lines), lines))
        elif fragment and fragment.lower() not in lines[0].lower():
            problems.append("message %r lacks %r" % (lines[0], fragment))
        if after != before:
            problems.append("files left behind: %s" % sorted(set(after) - set(before)))
        results.append((name, p.returncode, lines[0] if lines else "", problems,
                        "cd %s && %s" % (shlex.quote(d), " ".join(shlex.quote(c) for c in cmd)), d))
    return results


# ---------------------------------------------------------------------------------

def main():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    release = os.path.join(here, ".build", "release", "bn")
    default_bn = release if os.path.exists(release) else os.path.join(here, ".build", "debug", "bn")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bn", default=default_bn, help="the bn executable (default: %(default)s)")
    ap.add_argument("--cases", type=int, default=40, help="random cases (default 40)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--case", type=int, action="append",
                    help="run only this case number (repeatable); the same draw as in the full run")
    ap.add_argument("--keep", action="store_true", help="keep every case's files")
    ap.add_argument("--workdir", default=None, help="where case directories go (default: a temp dir)")
    args = ap.parse_args()

    bn = os.path.abspath(args.bn)
    if not os.access(bn, os.X_OK):
        print("no bn executable at %s (build it: swift build)" % bn, file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    workroot = tempfile.mkdtemp(prefix="bn-vs-torch-", dir=args.workdir)
    started = time.perf_counter()
    passed = failed = 0
    bn_total = 0.0
    worst = {}      # (dtype, category, reference) -> (scaled, absolute, case index)

    indices = args.case if args.case else range(args.cases)
    for k in indices:
        case = draw_case(args.seed, k)
        workdir = os.path.join(workroot, "case%d" % k)
        os.makedirs(workdir)
        try:
            result, log, seconds = run_case(case, bn, workdir)
        except Exception as e:  # noqa: BLE001 - a script error is a failed case, not a crash
            result, log, seconds = CaseResult(case["dtype"]), [], 0.0
            result.fail("script error: %r" % e)
        bn_total += seconds
        for (category, reference), (scaled, absolute) in result.worst.items():
            key = (case["dtype"], category, reference)
            if key not in worst or scaled > worst[key][0]:
                worst[key] = (scaled, absolute, k)
        def summary(reference):
            return "  ".join("%s %.1e" % (c.split()[0], result.worst[(c, reference)][0])
                             for c in CATEGORIES if (c, reference) in result.worst)
        errs = summary("torch-f64")
        if any(r == "torch-f32" for (_, r) in result.worst):
            errs += "  (PyTorch float32: %s)" % summary("torch-f32")
        if result.failures:
            failed += 1
            print("case %3d FAIL  %s" % (k, describe(case)))
            for f in result.failures:
                print("      - %s" % f)
            print("      reproduce: python3 %s --bn %s --seed %d --case %d --keep"
                  % (os.path.relpath(os.path.abspath(__file__)), shlex.quote(bn), args.seed, k))
            print("      files kept in %s; bn commands:" % workdir)
            for c in log:
                print("        %s" % c)
        else:
            passed += 1
            print("case %3d ok    %s  |  %s" % (k, describe(case), errs))
            for n in result.notes:
                print("      note: %s" % n)
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
        sys.stdout.flush()

    if not args.case:
        for name, rc, message, problems, command, d in error_cases(bn, workroot):
            if problems:
                failed += 1
                print("error path FAIL  %s: %s" % (name, "; ".join(problems)))
                print("      reproduce: %s" % command)
            else:
                passed += 1
                print("error path ok    %s: exit %d, %r" % (name, rc, message))
                if not args.keep:
                    shutil.rmtree(d, ignore_errors=True)

    elapsed = time.perf_counter() - started
    print()
    print("worst scaled error |bn - torch| / max(1, max|torch|), for grad-input also at least its terms")
    print("(absolute error in brackets, case); PyTorch float32 (torch-f32) is informational:")
    for dtype in ("float32", "float64"):
        for category in CATEGORIES:
            for reference in ("torch-f64", "torch-f32"):
                if (dtype, category, reference) in worst:
                    s, a, k = worst[(dtype, category, reference)]
                    print("  %-8s %-17s vs %-9s %.2e  (%.2e, case %d)  tolerance %g"
                          % (dtype, category, reference, s, a, k, TOLERANCE[dtype]))
    print("%.1f s in all, %.1f s in bn" % (elapsed, bn_total))
    print("%d passed, %d failed" % (passed, failed))
    if not args.keep and failed == 0:
        shutil.rmtree(workroot, ignore_errors=True)
    elif failed:
        print("files of failing cases kept under %s" % workroot)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
