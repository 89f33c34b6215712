"""The PyTorch side of the block-sparse GPU benchmark (bench/gpu.ts): flex_attention with the same per-head
block patterns (read from $OUT/sparse-patterns.json, which .gpu/bench-sparse.mjs writes just before) and dense
SDPA, float32 with TF32 off, on the same card. With $OUT/sparse-webgpu-bench.json present it prints the WebGPU
and PyTorch times side by side. Full results go to $OUT/sparse-torch-bench.json.

    python3 .gpu/torch-sparse.py [--small]      (bundled by the root bench/gpu/build.mjs)

Without the patterns file it rebuilds them with the same generator as bench/cases.ts (mulberry32, seeds 1000
and 1001), so the patterns are identical either way.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

# The shared helpers: beside this script in .gpu/, else in the repository's bench/gpu.
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'bench', 'gpu'))
from torch_common import (DEV, OUT, SMALL, begin, derive_backward, print_rates,  # noqa: E402
                          print_side_by_side, report_head, time_cases, write_report)


def mulberry32(seed):
    a = seed & 0xFFFFFFFF

    def imul(x, y):
        return (x * y) & 0xFFFFFFFF

    def nxt():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return (t ^ (t >> 14)) & 0xFFFFFFFF

    return nxt


def random_block_pattern(blocks, heads, density, seed):
    """bench/cases.ts randomBlockPattern: the diagonal plus round(density * blocks) - 1 others per row."""
    nxt = mulberry32(seed)
    per_row = max(1, min(blocks, int(density * blocks + 0.5)))
    out = []
    for _ in range(heads):
        rows = []
        for qb in range(blocks):
            others = [i if i < qb else i + 1 for i in range(blocks - 1)]
            for i in range(per_row - 1):
                j = i + nxt() % (len(others) - i)
                others[i], others[j] = others[j], others[i]
            rows.append(sorted([qb] + others[:per_row - 1]))
        out.append(rows)
    return out


def load_setup():
    path = os.path.join(OUT, 'sparse-patterns.json')
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f), 'read from ' + path
    s = dict(batch=1, heads=2, tokens=512, headDim=32, block=64) if SMALL else \
        dict(batch=1, heads=8, tokens=16384, headDim=64, block=128)
    blocks = s['tokens'] // s['block']
    pats = []
    for n, target in enumerate((0.1, 0.5)):
        p = random_block_pattern(blocks, s['heads'], target, 1000 + n)
        listed = sum(len(r) for rows in p for r in rows)
        pats.append(dict(target=target, density=listed / (s['heads'] * blocks * blocks), pattern=p))
    s['patterns'] = pats
    return s, 'rebuilt with the generator of bench/cases.ts'


def sparse_name(kind, s, density):
    pct = round(density * 1000) / 10
    pct = int(pct) if pct == int(pct) else pct
    return f"sparse {kind} B{s['batch']} H{s['heads']} N{s['tokens']} d{s['headDim']} b{s['block']} {pct}%"


def dense_name(kind, s):
    return f"sdpa {kind} B{s['batch']} H{s['heads']} N{s['tokens']} d{s['headDim']}"


def cases(s):
    try:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    except Exception as ex:  # torch < 2.5: no flex_attention; the dense SDPA cases still run
        print(f'flex_attention unavailable, timing dense SDPA only: {repr(ex)[:200]}')
        create_block_mask = flex_attention = None
    b, h, n, d, blk = s['batch'], s['heads'], s['tokens'], s['headDim'], s['block']
    blocks = n // blk
    flops = 4 * b * h * n * n * d

    def qkv(grad=False):
        return [torch.randn(b, h, n, d, device=DEV, requires_grad=grad) for _ in range(3)]

    out = []
    q, k, v = qkv()
    out.append((dense_name('fwd', s), flops, lambda: F.scaled_dot_product_attention(q, k, v)))
    flex = torch.compile(flex_attention) if flex_attention else None
    masks = []
    for p in s['patterns'] if flex else []:
        table = torch.zeros(h, blocks, blocks, dtype=torch.bool, device=DEV)
        for hh, rows in enumerate(p['pattern']):
            for qb, row in enumerate(rows):
                table[hh, qb, row] = True

        def mask_mod(bb, hh, qi, ki, table=table):
            return table[hh, qi // blk, ki // blk]

        bm = create_block_mask(mask_mod, None, h, n, n, device=DEV, BLOCK_SIZE=blk)
        masks.append((p, bm))
        out.append((sparse_name('fwd', s, p['density']), flops * p['density'],
                    lambda bm=bm: flex(q, k, v, block_mask=bm)))
    qg, kg, vg = qkv(grad=True)

    def dense_train():
        o = F.scaled_dot_product_attention(qg, kg, vg)
        return torch.autograd.grad(o.sum(), (qg, kg, vg))

    out.append((dense_name('fwd+bwd', s), flops * 14 / 4, dense_train))
    for p, bm in masks:
        def train(bm=bm):
            o = flex(qg, kg, vg, block_mask=bm)
            return torch.autograd.grad(o.sum(), (qg, kg, vg))

        out.append((sparse_name('fwd+bwd', s, p['density']), flops * 14 / 4 * p['density'], train))
    return out


def main():
    gpu = begin()
    s, source = load_setup()
    print(f'patterns {source}')
    rows, failed = time_cases(cases(s), *((50.0, 3) if SMALL else (300.0, 7)))
    derived = derive_backward(rows)
    write_report('sparse-torch-bench.json', {
        **report_head('torch-sparse.py', gpu,
                      settings='flex_attention compiled, BLOCK_SIZE = the pattern block'),
        'patterns': source,
        'results': rows,
        'derived': derived,
        'failed': failed,
    })
    print_rates(gpu, rows + derived, width=48)
    print_side_by_side(rows + derived, os.path.join(OUT, 'sparse-webgpu-bench.json'), width=48,
                       header='case (torch: flex for sparse, SDPA for dense)')


if __name__ == '__main__':
    main()
