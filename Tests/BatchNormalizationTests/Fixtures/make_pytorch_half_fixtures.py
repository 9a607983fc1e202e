"""Writes pytorch_batchnorm_half.json: PyTorch's CPU batch norm on bfloat16 and float16
input with float32 weight, bias and running statistics (its "mixed type" path), for
HalfPrecisionGoldenTests.swift. Half values are stored as their 16-bit patterns.

Usage: pip install torch numpy; python3 make_pytorch_half_fixtures.py
"""

import json
import os

import torch

torch.manual_seed(20)
CASES = [
    ("nc", [32, 7], False),
    ("nchw", [8, 5, 6, 7], False),
    ("nhwc", [4, 12, 5, 5], True),
]


def bits(tensor):
    return tensor.contiguous().view(torch.int16).reshape(-1).tolist()


def memory_order(tensor, channels_last):
    # The values in memory order: channels-last keeps (N, H, W, C).
    return tensor.permute(0, 2, 3, 1) if channels_last else tensor


cases = []
for dtype_name, dtype in [("bfloat16", torch.bfloat16), ("float16", torch.float16)]:
    for name, dimensions, channels_last in CASES:
        channels = dimensions[1]
        x = (torch.randn(dimensions) * torch.rand(channels).view([1, channels] + [1] * (len(dimensions) - 2)) * 3 + 1.5)
        x = x.to(dtype)
        dy = torch.randn(dimensions).to(dtype)
        if channels_last:
            x = x.to(memory_format=torch.channels_last)
            dy = dy.to(memory_format=torch.channels_last)
        weight = (torch.rand(channels) + 0.5).requires_grad_()
        bias = (torch.rand(channels) - 0.5).requires_grad_()
        running_mean, running_var = torch.zeros(channels), torch.ones(channels)
        xg = x.detach().requires_grad_()
        y = torch.nn.functional.batch_norm(xg, running_mean, running_var, weight, bias, training=True, momentum=0.1, eps=1e-5)
        y.backward(dy)
        inference = torch.nn.functional.batch_norm(x, running_mean, running_var, weight.detach(), bias.detach(), training=False, eps=1e-5)
        assert y.dtype == dtype and xg.grad.dtype == dtype and weight.grad.dtype == torch.float32
        cases.append({
            "name": f"{dtype_name} {name} {dimensions}",
            "dtype": dtype_name,
            "layout": "channelsLast" if channels_last else "channelsFirst",
            "dimensions": dimensions,
            "memory_dimensions": [dimensions[0]] + dimensions[2:] + [channels] if channels_last else dimensions,
            "weight": weight.tolist(),
            "bias": bias.tolist(),
            "input": bits(memory_order(x, channels_last)),
            "output": bits(memory_order(y.detach(), channels_last)),
            "running_mean": running_mean.tolist(),
            "running_var": running_var.tolist(),
            "grad_output": bits(memory_order(dy, channels_last)),
            "grad_input": bits(memory_order(xg.grad, channels_last)),
            "grad_weight": weight.grad.tolist(),
            "grad_bias": bias.grad.tolist(),
            "inference_output": bits(memory_order(inference, channels_last)),
        })

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pytorch_batchnorm_half.json")
with open(path, "w") as file:
    json.dump({"torch_version": torch.__version__, "cases": cases}, file, separators=(",", ":"))
print(f"wrote {path}: {len(cases)} cases, torch {torch.__version__}")
