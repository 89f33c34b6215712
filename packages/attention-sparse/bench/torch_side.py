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


def derive_backward(rows):
    by_name = {r['name']: r for r in rows}
    derived = []
    for r in rows:
        if ' fwd+bwd ' not in r['name']:
            continue
        fwd = by_name.get(r['name'].replace('fwd+bwd', 'fwd'))
        if fwd is None:
            continue
        ms = r['medianMs'] - fwd['medianMs']
        derived.append({'name': r['name'].replace('fwd+bwd', 'bwd'), 'medianMs': ms,
                        'gflops': r['flops'] * 10 / 14 / ms / 1e6})
    return derived


def side_by_side(torch_rows, webgpu_path):
    with open(webgpu_path) as f:
        w = json.load(f)
    webgpu = {r['name']: r for r in w['results'] + w['derived']['rows']}
    lines = [f"{'case (torch: flex for sparse, SDPA for dense)':48} {'WebGPU ms':>10} {'torch ms':>10} {'ratio':>7}"]
    for r in torch_rows:
        g = webgpu.get(r['name'])
        if g is None:
            lines.append(f"{r['name']:48} {'-':>10} {r['medianMs']:10.3f} {'-':>7}")
        else:
            lines.append(f"{r['name']:48} {g['medianMs']:10.3f} {r['medianMs']:10.3f} "
                         f"{g['medianMs'] / r['medianMs']:7.2f}")
    return lines


def main():
    gpu = torch.cuda.get_device_name(0) if DEV == 'cuda' else 'cpu'
    print(f'torch {torch.__version__} on {gpu}, float32, TF32 off')
    s, source = load_setup()
    print(f'patterns {source}')
    rows, failed = [], []
    for name, flops, step in cases(s):
        try:
            ms, steps = median_ms(step, *((50.0, 3) if SMALL else (300.0, 7)))
        except Exception as ex:  # a failing case is reported, the others still run
            failed.append({'name': name, 'why': repr(ex)[:300]})
            print(f'{name}: failed: {repr(ex)[:200]}')
            continue
        rows.append({'name': name, 'medianMs': ms, 'stepsPerSample': steps, 'flops': flops,
                     'gflops': flops / ms / 1e6})
        print(f'{name}: {ms:.3f} ms')
    derived = derive_backward(rows)
    report = {
        'date': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
        'command': 'python3 .gpu/torch-sparse.py' + (' --small' if SMALL else ''),
        'device': gpu,
        'torch': torch.__version__,
        'settings': 'float32; allow_tf32 False; float32 matmul precision highest; flex_attention compiled, '
                    'BLOCK_SIZE = the pattern block',
        'timing': 'CUDA events; per sample, steps back to back; median of the samples',
        'patterns': source,
        'results': rows,
        'derived': derived,
        'failed': failed,
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, 'sparse-torch-bench.json'), 'w') as f:
        json.dump(report, f, indent=2)
    print(f"\nPyTorch ({gpu})\n{'case':48} {'median ms':>10} {'TFLOP/s':>8}")
    for r in rows + derived:
        print(f"{r['name']:48} {r['medianMs']:10.3f} {r['gflops'] / 1e3:8.3f}")
    webgpu_path = os.path.join(OUT, 'sparse-webgpu-bench.json')
    if os.path.exists(webgpu_path):
        print('\nside by side (ratio = WebGPU time / PyTorch time)')
        print('\n'.join(side_by_side(rows + derived, webgpu_path)))


if __name__ == '__main__':
    main()
