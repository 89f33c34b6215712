"""The PyTorch side of the GPU benchmark: the shapes of packages/gpu-kernels/bench/gpu.ts, in float32 with TF32
off, on the same card. When $OUT/webgpu-bench.json (written by .gpu/bench.mjs just before) exists, it prints
WebGPU/PyTorch ratios side by side. Full results go to $OUT/torch-bench.json.

    python3 .gpu/torch_side.py [--small]
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

# Plain float32 everywhere: no TF32 in matmuls or convolutions.
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.set_float32_matmul_precision('highest')


def sync():
    if DEV == 'cuda':
        torch.cuda.synchronize()


def median_ms(step, sample_ms=300.0, samples=7):
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


def derive_backward(rows):
    """backward = (fwd+bwd) - fwd, with 10*B*H*N*N*d flops (halved when causal), as gpu.ts does."""
    by_name = {r['name']: r for r in rows}
    derived = []
    for r in rows:
        if not r['name'].startswith('sdpa fwd+bwd'):
            continue
        fwd = by_name.get(r['name'].replace('fwd+bwd', 'fwd'))
        if fwd is None:
            continue
        ms = r['medianMs'] - fwd['medianMs']
        flops = r['flops'] * 10 / 14
        derived.append({'name': r['name'].replace('fwd+bwd', 'bwd'), 'medianMs': ms, 'gflops': flops / ms / 1e6})
    return derived


def side_by_side(torch_rows, webgpu_path):
    """Lines of a table: case, WebGPU ms, PyTorch ms, WebGPU/PyTorch time ratio."""
    with open(webgpu_path) as f:
        w = json.load(f)
    webgpu = {r['name']: r for r in w['results'] + w['derived']['rows']}
    lines = [f"{'case':40} {'WebGPU ms':>10} {'torch ms':>10} {'ratio':>7}"]
    for r in torch_rows:
        g = webgpu.get(r['name'])
        if g is None:
            lines.append(f"{r['name']:40} {'-':>10} {r['medianMs']:10.3f} {'-':>7}")
        else:
            lines.append(f"{r['name']:40} {g['medianMs']:10.3f} {r['medianMs']:10.3f} {g['medianMs'] / r['medianMs']:7.2f}")
    return lines


def main():
    gpu = torch.cuda.get_device_name(0) if DEV == 'cuda' else 'cpu'
    print(f'torch {torch.__version__} on {gpu}, float32, TF32 off')
    rows, failed = [], []
    for name, flops, step in cases():
        try:
            ms, steps = median_ms(step, *((50.0, 3) if SMALL else (300.0, 7)))
        except Exception as ex:  # an out-of-memory or unsupported case is reported, the others still run
            failed.append({'name': name, 'why': repr(ex)[:300]})
            print(f'{name}: failed: {repr(ex)[:200]}')
            continue
        rows.append({'name': name, 'medianMs': ms, 'stepsPerSample': steps, 'flops': flops, 'gflops': flops / ms / 1e6})
        print(f'{name}: {ms:.3f} ms')
    derived = derive_backward(rows)
    report = {
        'date': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
        'command': 'python3 .gpu/torch_side.py' + (' --small' if SMALL else ''),
        'device': gpu,
        'torch': torch.__version__,
        'settings': 'float32; allow_tf32 False (matmul and cudnn); float32 matmul precision highest',
        'timing': 'CUDA events; per sample, steps back to back; median of the samples',
        'results': rows,
        'derived': derived,
        'failed': failed,
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, 'torch-bench.json'), 'w') as f:
        json.dump(report, f, indent=2)
    print(f"\nPyTorch ({gpu})\n{'case':40} {'median ms':>10} {'TFLOP/s':>8}")
    for r in rows + derived:
        print(f"{r['name']:40} {r['medianMs']:10.3f} {r['gflops'] / 1e3:8.3f}")
    webgpu_path = os.path.join(OUT, 'webgpu-bench.json')
    if os.path.exists(webgpu_path):
        print('\nside by side (ratio = WebGPU time / PyTorch time)')
        print('\n'.join(side_by_side(rows + derived, webgpu_path)))


if __name__ == '__main__':
    main()
