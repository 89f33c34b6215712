"""The PyTorch side of the neighborhood-attention GPU benchmark (bench/gpu.ts): the same shapes, float32, TF32 off,
on the same card. Neighborhood attention is PyTorch's flex_attention (torch.compile'd) with NATTEN's mask as a
mask_mod and its block mask (what the issue compares against), forward, and forward+backward where gpu.ts has it;
dense attention is F.scaled_dot_product_attention over the same tokens. Before timing, flex with the NA mask is
checked against a dense masked softmax on a small case (max abs error printed). When $OUT/na-webgpu-bench.json
(written by the WebGPU side just before) exists, prints WebGPU/PyTorch time ratios side by side. Full results go
to $OUT/na-torch-bench.json.

    python3 .gpu/torch-neighborhood.py [--small]
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

SMALL = '--small' in sys.argv
OUT = os.environ.get('OUT', '.')
DEV = 'cuda' if torch.cuda.is_available() else 'cpu'

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.set_float32_matmul_precision('highest')

# (batch, heads, tokens per axis, head dim, kernel size, with backward) as in gpu.ts
PROBLEMS = [
    (1, 2, (16, 16), 32, 7, True),
    (1, 2, (16, 16), 32, 13, False),
    (1, 2, (512,), 32, 64, False),
    (1, 2, (4, 8, 8), 32, 3, False),
] if SMALL else [
    (8, 4, (64, 64), 32, 7, True),
    (8, 4, (64, 64), 32, 13, False),
    (1, 4, (32768,), 32, 2048, False),
    (1, 4, (16, 32, 32), 32, 7, False),
]


def sync():
    if DEV == 'cuda':
        torch.cuda.synchronize()


def median_ms(step, sample_ms, samples):
    """Median ms per step: warm-up, a calibration step, then samples of back-to-back steps between syncs."""
    for _ in range(3):
        step()
    sync()
    t0 = time.perf_counter()
    step()
    sync()
    once = max((time.perf_counter() - t0) * 1e3, 1e-3)
    steps = max(1, min(10000, round(sample_ms / once)))
    per_step = []
    for _ in range(samples):
        if DEV == 'cuda':
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(steps):
                step()
            end.record()
            torch.cuda.synchronize()
            per_step.append(start.elapsed_time(end) / steps)
        else:
            t0 = time.perf_counter()
            for _ in range(steps):
                step()
            per_step.append((time.perf_counter() - t0) * 1e3 / steps)
    return statistics.median(per_step), steps


def na_mask_mod(tokens, k):
    """NATTEN's non-causal window (dilation 1, stride 1) per axis: start = clamp(i - k // 2, 0, n - k)."""
    strides = []
    acc = 1
    for n in reversed(tokens):
        strides.insert(0, acc)
        acc *= n

    def mask(b, h, qi, ki):
        ok = None
        for n, s in zip(tokens, strides):
            qa = (qi // s) % n
            ka = (ki // s) % n
            start = torch.clamp(qa - k // 2, 0, n - k)
            inside = (ka >= start) & (ka < start + k)
            ok = inside if ok is None else ok & inside
        return ok

    return mask


def name(kind, b, h, tokens, d, k):
    return f"na{len(tokens)}d {kind} B{b} H{h} {'x'.join(map(str, tokens))} d{d} k{k}"


def check_flex(flex_attention, create_block_mask):
    """Max abs error of compiled flex with the NA mask against a dense masked softmax (2-D, 12x10, k=5)."""
    tokens, k = (12, 10), 5
    n = tokens[0] * tokens[1]
    q, kk, v = (torch.randn(1, 2, n, 16, device=DEV) for _ in range(3))
    mm = na_mask_mod(tokens, k)
    bm = create_block_mask(mm, None, None, n, n, device=DEV)
    out = torch.compile(flex_attention)(q, kk, v, block_mask=bm)
    idx = torch.arange(n, device=DEV)
    allowed = mm(None, None, idx[:, None], idx[None, :])
    ref = F.scaled_dot_product_attention(q, kk, v, attn_mask=allowed)
    return (out - ref).abs().max().item()


def cases():
    try:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention

        print(f'flex NA mask check: max abs error {check_flex(flex_attention, create_block_mask):.2e}')
        flex = torch.compile(flex_attention)
    except Exception as ex:  # no flex_attention (torch < 2.5) or no compiler: dense SDPA still runs
        print(f'flex_attention unavailable, timing dense SDPA only: {repr(ex)[:200]}')
        flex = None
    out = []
    dense_done = set()
    for b, h, tokens, d, k, train in PROBLEMS:
        n = 1
        for t in tokens:
            n *= t
        window = k ** len(tokens)
        q, kk, v = (torch.randn(b, h, n, d, device=DEV) for _ in range(3))
        dense = f'dense sdpa fwd B{b} H{h} N{n} d{d}'
        if dense not in dense_done:
            dense_done.add(dense)
            out.append((dense, 4 * b * h * n * n * d,
                        lambda q=q, kk=kk, v=v: F.scaled_dot_product_attention(q, kk, v)))
        if flex is None:
            continue
        bm = create_block_mask(na_mask_mod(tokens, k), None, None, n, n, device=DEV)
        out.append((name('flex fwd', b, h, tokens, d, k), 4 * b * h * n * window * d,
                    lambda q=q, kk=kk, v=v, bm=bm: flex(q, kk, v, block_mask=bm)))
        if train:
            qg, kg, vg = (torch.randn(b, h, n, d, device=DEV, requires_grad=True) for _ in range(3))

            def step(q=qg, kk=kg, v=vg, bm=bm):
                o = flex(q, kk, v, block_mask=bm)
                return torch.autograd.grad(o.sum(), (q, kk, v))

            out.append((name('flex fwd+bwd', b, h, tokens, d, k), 14 * b * h * n * window * d, step))
    return out


def side_by_side(torch_rows, webgpu_path):
    """Lines of a table: case, WebGPU ms, PyTorch ms, WebGPU/PyTorch time ratio (fused and unfused vs flex)."""
    with open(webgpu_path) as f:
        w = json.load(f)
    webgpu = {r['name']: r for r in w['results']}
    lines = [f"{'case':48} {'WebGPU ms':>10} {'torch ms':>10} {'ratio':>7}"]
    for r in torch_rows:
        ours = [r['name']] if r['name'].startswith('dense') else [
            r['name'].replace('flex', 'fused'), r['name'].replace('flex', 'unfused')]
        for o in ours:
            g = webgpu.get(o)
            if g is None:
                continue
            lines.append(f"{o + ' / torch':48} {g['medianMs']:10.3f} {r['medianMs']:10.3f} "
                         f"{g['medianMs'] / r['medianMs']:7.2f}")
    return lines


def main():
    gpu = torch.cuda.get_device_name(0) if DEV == 'cuda' else 'cpu'
    print(f'torch {torch.__version__} on {gpu}, float32, TF32 off')
    rows, failed = [], []
    t0 = time.time()
    for case_name, flops, step in cases():
        try:
            ms, steps = median_ms(step, *((50.0, 3) if SMALL else (300.0, 7)))
        except Exception as ex:  # an out-of-memory or unsupported case is reported, the others still run
            failed.append({'name': case_name, 'why': repr(ex)[:300]})
            print(f'{case_name}: failed: {repr(ex)[:200]}')
            continue
        rows.append({'name': case_name, 'medianMs': ms, 'stepsPerSample': steps, 'flops': flops,
                     'gflops': flops / ms / 1e6})
        print(f'{case_name}: {ms:.3f} ms')
    report = {
        'date': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
        'command': 'python3 .gpu/torch-neighborhood.py' + (' --small' if SMALL else ''),
        'device': gpu,
        'torch': torch.__version__,
        'settings': 'float32; allow_tf32 False (matmul and cudnn); float32 matmul precision highest; '
                    'flex_attention torch.compile\'d with the NA block mask',
        'timing': 'CUDA events; per sample, steps back to back; median of the samples',
        'seconds': round(time.time() - t0, 1),
        'results': rows,
        'failed': failed,
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, 'na-torch-bench.json'), 'w') as f:
        json.dump(report, f, indent=2)
    print(f"\nPyTorch ({gpu})\n{'case':48} {'median ms':>10} {'TFLOP/s':>8}")
    for r in rows:
        print(f"{r['name']:48} {r['medianMs']:10.3f} {r['gflops'] / 1e3:8.3f}")
    webgpu_path = os.path.join(OUT, 'na-webgpu-bench.json')
    if os.path.exists(webgpu_path):
        print('\nside by side (ratio = WebGPU time / PyTorch time; the issue asks <= 0.5 for fused na2d)')
        print('\n'.join(side_by_side(rows, webgpu_path)))


if __name__ == '__main__':
    main()
