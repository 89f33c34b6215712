"""The PyTorch side of the GPU benchmark: the shapes of packages/gpu-kernels/bench/gpu.ts, in float32 with TF32
off, on the same card. When $OUT/webgpu-bench.json (written by .gpu/bench.mjs just before) exists, it prints
WebGPU/PyTorch ratios side by side. Full results go to $OUT/torch-bench.json.

    python3 .gpu/torch_side.py [--small]
"""
import os
import sys

import torch
import torch.nn.functional as F

# The shared helpers lie beside this script (bench/gpu, and .gpu/ once bundled).
sys.path.append(os.path.dirname(os.path.abspath(__file__)))
from torch_common import (DEV, OUT, SMALL, begin, derive_backward, print_rates,  # noqa: E402
                          print_side_by_side, report_head, time_cases, write_report)


def attention_name(kind, b, h, n, d, causal):
    return f'{kind} B{b} H{h} N{n} d{d}' + (' causal' if causal else '')


def attention_flops(per_pair, b, h, n, d, causal):
    return per_pair * b * h * n * n * d * (0.5 if causal else 1)


def cases():
    n, big = (128, 256) if SMALL else (4096, 16384)
    b, h, d = (1, 2, 32) if SMALL else (8, 4, 32)
    m = 128 if SMALL else 4096
    out = []

    x, y = torch.randn(m, m, device=DEV), torch.randn(m, m, device=DEV)
    out.append((f'matmul {m}x{m}x{m}', 2 * m * m * m, lambda: x @ y))

    def qkv(tokens, grad=False):
        return [torch.randn(b, h, tokens, d, device=DEV, requires_grad=grad) for _ in range(3)]

    for tokens, causal in ((n, False), (n, True), (big, True)):
        q, k, v = qkv(tokens)
        out.append((
            attention_name('sdpa fwd', b, h, tokens, d, causal),
            attention_flops(4, b, h, tokens, d, causal),
            lambda q=q, k=k, v=v, c=causal: F.scaled_dot_product_attention(q, k, v, is_causal=c),
        ))
    for causal in (False, True):
        q, k, v = qkv(n, grad=True)

        def train(q=q, k=k, v=v, c=causal):
            o = F.scaled_dot_product_attention(q, k, v, is_causal=c)
            return torch.autograd.grad(o.sum(), (q, k, v))

        out.append((attention_name('sdpa fwd+bwd', b, h, n, d, causal), attention_flops(14, b, h, n, d, causal), train))
    return out


def main():
    gpu = begin()
    rows, failed = time_cases(cases(), *((50.0, 3) if SMALL else (300.0, 7)))
    derived = derive_backward(rows)
    write_report('torch-bench.json', {
        **report_head('torch_side.py', gpu),
        'results': rows,
        'derived': derived,
        'failed': failed,
    })
    print_rates(gpu, rows + derived)
    print_side_by_side(rows + derived, os.path.join(OUT, 'webgpu-bench.json'))


if __name__ == '__main__':
    main()
