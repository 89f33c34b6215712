"""The PyTorch side of the linear family's GPU benchmark (bench/gpu.ts): the same shapes, float32, TF32 off, on the
same card. Lightning Attention-2 as the chunked block algorithm in plain PyTorch (a Python loop over blocks of
64, as lightning_attn2.py computes it), its forward+backward by autograd, classic causal linear attention
(elu+1, the same loop with no decay and a normaliser channel; forward+backward up to N = 64K), and SDPA causal
forward and forward+backward.
Before timing, the chunked loop is checked against the quadratic form on a small case (max abs error printed).
When $OUT/linear-webgpu-bench.json (written by the WebGPU side just before; or the file named by
$LINEAR_WEBGPU_JSON) exists, prints WebGPU/PyTorch time ratios side by side. Full results go to $OUT/linear-torch-bench.json.

    python3 .gpu/torch-linear.py [--small] [--tokens 2048,65536]
"""
import os
import sys

import torch
import torch.nn.functional as F

# The shared helpers: beside this script in .gpu/, else in the repository's bench/gpu.
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'bench', 'gpu'))
from torch_common import (DEV, OUT, SMALL, WALL_TIMING, begin, report_head, time_cases,  # noqa: E402
                          webgpu_rows, write_report)

BLOCK = 64
H, D = (2, 16) if SMALL else (8, 64)
TOKENS = [64, 128, 256, 512] if SMALL else [2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144]
if '--tokens' in sys.argv:  # e.g. --tokens 2048,65536, as bench/gpu.ts takes it
    TOKENS = [int(t) for t in sys.argv[sys.argv.index('--tokens') + 1].split(',')]
DENSE_MAX = 512 if SMALL else 32768


def alibi_slopes(h):
    """Lightning-2's per-head decay rates (ALiBi recipe, _build_slope_tensor)."""
    def pow2(n):
        start = 2 ** (-(2 ** -(torch.log2(torch.tensor(float(n))).item() - 3)))
        return [start * start ** i for i in range(n)]
    if (h & (h - 1)) == 0:
        return pow2(h)
    c = 2 ** int(torch.log2(torch.tensor(float(h))).item())
    return pow2(c) + pow2(2 * c)[0::2][: h - c]


def lightning_chunked(q, k, v, s):
    """o_t = sum_{u<=t} exp(-s_h (t-u)) (q_t . k_u) v_u, block by block: q, k [B,H,N,d], v [B,H,N,e], s [H]."""
    b, h, n, _ = q.shape
    e = v.shape[-1]
    idx = torch.arange(BLOCK, device=q.device, dtype=q.dtype)
    rate = s.view(h, 1, 1)
    diff = idx[:, None] - idx[None, :]
    diag = torch.where(diff >= 0, torch.exp(-rate * diff.clamp(min=0)), torch.zeros((), device=q.device))
    kv = torch.zeros(b, h, q.shape[-1], e, device=q.device, dtype=q.dtype)
    outs = []
    for i in range(0, n, BLOCK):
        m = min(BLOCK, n - i)
        qi, ki, vi = q[:, :, i:i + m], k[:, :, i:i + m], v[:, :, i:i + m]
        q_decay = torch.exp(-rate * (idx[:m, None] + 1))          # lambda^(a+1): the state is at the block start - 1
        k_decay = torch.exp(-rate * (m - 1 - idx[:m, None]))      # lambda^(m-1-a)
        intra = ((qi @ ki.transpose(-1, -2)) * diag[:, :m, :m]) @ vi
        outs.append(intra + (qi * q_decay) @ kv)
        kv = torch.exp(-rate * m) * kv + (ki * k_decay).transpose(-1, -2) @ vi
    return torch.cat(outs, dim=2)


def lightning_quadratic(q, k, v, s):
    n = q.shape[2]
    t = torch.arange(n, device=q.device, dtype=q.dtype)
    diff = t[:, None] - t[None, :]
    mask = torch.where(diff >= 0, torch.exp(-s.view(-1, 1, 1) * diff.clamp(min=0)), torch.zeros((), device=q.device))
    return ((q @ k.transpose(-1, -2)) * mask) @ v


def classic_chunked(q, k, v):
    """Causal linear attention, phi = elu + 1, eps 1e-6: the chunked loop with no decay on [v | 1]."""
    fq, fk = F.elu(q) + 1, F.elu(k) + 1
    ones = torch.ones(*v.shape[:-1], 1, device=v.device, dtype=v.dtype)
    o = lightning_chunked(fq, fk, torch.cat([v, ones], dim=-1), torch.zeros(q.shape[1], device=q.device))
    return o[..., :-1] / (o[..., -1:] + 1e-6)


def check():
    g = torch.Generator(device='cpu').manual_seed(0)
    q, k, v = (torch.randn(1, 3, 200, 5, generator=g, dtype=torch.float64).to(DEV) for _ in range(3))
    s = torch.tensor([0.0, 2 ** -8, 0.5], dtype=torch.float64, device=DEV)
    return (lightning_chunked(q, k, v, s) - lightning_quadratic(q, k, v, s)).abs().max().item()


def name(kind, n):
    return f'{kind} B1 H{H} N{n} dk{D} dv{D}'


def cases():
    slopes = torch.tensor(alibi_slopes(H), device=DEV)
    out = []
    for n in TOKENS:
        def qkv(grad=False, n=n):
            return [(torch.rand(1, H, n, D, device=DEV) - 0.5).requires_grad_(grad) for _ in range(3)]

        q, k, v = qkv()
        out.append((name('lightning fwd', n), n, lambda q=q, k=k, v=v: lightning_chunked(q, k, v, slopes)))
        qg, kg, vg = qkv(True)

        def train(q=qg, k=kg, v=vg):
            return torch.autograd.grad(lightning_chunked(q, k, v, slopes).sum(), (q, k, v))

        out.append((name('lightning fwd+bwd', n), n, train))
        out.append((name('classic fwd', n), n, lambda q=q, k=k, v=v: classic_chunked(q, k, v)))
        if n <= 65536 or SMALL:
            def classic_train(q=qg, k=kg, v=vg):
                return torch.autograd.grad(classic_chunked(q, k, v).sum(), (q, k, v))

            out.append((name('classic fwd+bwd', n), n, classic_train))
        if n <= DENSE_MAX:
            out.append((f'sdpa fwd B1 H{H} N{n} d{D} causal', n,
                        lambda q=q, k=k, v=v: F.scaled_dot_product_attention(q, k, v, is_causal=True)))
        if n <= DENSE_MAX // 2:
            def dense_train(q=qg, k=kg, v=vg):
                o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
                return torch.autograd.grad(o.sum(), (q, k, v))

            out.append((f'sdpa fwd+bwd B1 H{H} N{n} d{D} causal', n, dense_train))
    return out


def token_row(name, n, ms, steps):
    """A result row with the time per token (the linear family's measure; no flop count)."""
    return {'name': name, 'tokens': n, 'medianMs': ms, 'nsPerToken': ms * 1e6 / n, 'stepsPerSample': steps}


def main():
    gpu = begin()
    err = check()
    print(f'chunked loop vs quadratic form (float64, n=200, decays 0, 2^-8, 0.5): max abs error {err:.2e}')
    # Timed by the wall clock up to a sync, after one warm-up step.
    rows, failed = time_cases(cases(), *((50.0, 3) if SMALL else (200.0, 5)), row=token_row,
                              line=lambda r: f"{r['name']}: {r['medianMs']:.3f} ms, {r['nsPerToken']:.1f} ns/token",
                              warmup=1, cuda_events=False)
    write_report('linear-torch-bench.json', {
        **report_head('torch-linear.py', gpu, timing=WALL_TIMING),
        'chunkedCheckMaxAbsError': err,
        'results': rows,
        'failed': failed,
    })
    webgpu = webgpu_rows(os.environ.get('LINEAR_WEBGPU_JSON', os.path.join(OUT, 'linear-webgpu-bench.json'))) or {}
    print(f"\n{'case':44} {'torch ms':>10} {'ns/token':>10} {'WebGPU ms':>10} {'ratio':>7}")
    for r in rows:
        g = webgpu.get(r['name'])
        w = f"{g['medianMs']:10.3f} {g['medianMs'] / r['medianMs']:7.3f}" if g else f"{'-':>10} {'-':>7}"
        print(f"{r['name']:44} {r['medianMs']:10.3f} {r['nsPerToken']:10.1f} {w}")
    print('ratio = WebGPU time / PyTorch time')


if __name__ == '__main__':
    main()
