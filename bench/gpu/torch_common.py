"""What every PyTorch side of the GPU benchmarks shares: float32 with TF32 off, the timer, the loop that times
the cases (a failing case is reported and the others still run), the backward derived from fwd+bwd and fwd, the
report's common fields, and the tables (PyTorch alone, and side by side with the WebGPU side's JSON).

bench/gpu/build.mjs copies this file into .gpu/ next to the scripts (found there as the script's own folder);
run from the repository, a script adds the repository's bench/gpu to sys.path to find it.
"""
import json
import os
import statistics
import sys
import time

import torch

SMALL = '--small' in sys.argv
OUT = os.environ.get('OUT', '.')
DEV = 'cuda' if torch.cuda.is_available() else 'cpu'

SETTINGS = 'float32; allow_tf32 False (matmul and cudnn); float32 matmul precision highest'
EVENTS_TIMING = 'CUDA events; per sample, steps back to back; median of the samples'
WALL_TIMING = 'wall clock with a device sync per sample; steps back to back; median of the samples'


def begin():
    """Plain float32 everywhere (no TF32 in matmuls or convolutions); prints and returns the device's name."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision('highest')
    gpu = torch.cuda.get_device_name(0) if DEV == 'cuda' else 'cpu'
    print(f'torch {torch.__version__} on {gpu}, float32, TF32 off')
    return gpu


def sync():
    if DEV == 'cuda':
        torch.cuda.synchronize()


def median_ms(step, sample_ms, samples, warmup=3, cuda_events=True):
    """Median ms per step: warm-up, a calibration step, then samples of back-to-back steps between syncs.
    With cuda_events (on CUDA) a sample is timed by CUDA events, otherwise by the wall clock up to a sync."""
    for _ in range(warmup):
        step()
    sync()
    t0 = time.perf_counter()
    step()
    sync()
    once = max((time.perf_counter() - t0) * 1e3, 1e-3)
    steps = max(1, min(10000, round(sample_ms / once)))
    per_step = []
    for _ in range(samples):
        if cuda_events and DEV == 'cuda':
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
            sync()
            per_step.append((time.perf_counter() - t0) * 1e3 / steps)
    return statistics.median(per_step), steps


def flops_row(name, flops, ms, steps):
    """The result row of a case whose size is its floating-point operations per step."""
    return {'name': name, 'medianMs': ms, 'stepsPerSample': steps, 'flops': flops, 'gflops': flops / ms / 1e6}


def ms_line(row):
    return f"{row['name']}: {row['medianMs']:.3f} ms"


def time_cases(cases, sample_ms, samples, row=flops_row, line=ms_line, **timing):
    """Times each (name, size, step) case: rows made by row(name, size, ms, steps), and the failed cases (out of
    memory, an op this torch lacks, ...) as {name, why}; the others still run. timing goes to median_ms."""
    rows, failed = [], []
    for name, size, step in cases:
        try:
            ms, steps = median_ms(step, sample_ms, samples, **timing)
        except Exception as ex:  # reported; the other cases still run
            failed.append({'name': name, 'why': repr(ex)[:300]})
            print(f'{name}: failed: {repr(ex)[:200]}')
            continue
        rows.append(row(name, size, ms, steps))
        print(line(rows[-1]))
    return rows, failed


def derive_backward(rows):
    """backward = (fwd+bwd) - fwd for each ' fwd+bwd ' row with its forward row, with 10/14 of its flops, as the
    WebGPU sides do."""
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


def report_head(script, gpu, settings='', timing=EVENTS_TIMING):
    """The fields every report starts with; script is the file's name in .gpu/, settings extends SETTINGS."""
    return {
        'date': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
        'command': ' '.join([f'python3 .gpu/{script}'] + sys.argv[1:]),
        'device': gpu,
        'torch': torch.__version__,
        'settings': SETTINGS + (f'; {settings}' if settings else ''),
        'timing': timing,
    }


def write_report(file_name, report):
    """Writes the report as $OUT/<file_name>."""
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, file_name), 'w') as f:
        json.dump(report, f, indent=2)


def print_rates(gpu, rows, width=40):
    """The PyTorch table: case, median ms, TFLOP/s."""
    print(f"\nPyTorch ({gpu})\n{'case':{width}} {'median ms':>10} {'TFLOP/s':>8}")
    for r in rows:
        print(f"{r['name']:{width}} {r['medianMs']:10.3f} {r['gflops'] / 1e3:8.3f}")


def webgpu_rows(path):
    """The WebGPU side's rows by name (its results and derived rows), or None when it wrote no such file."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        w = json.load(f)
    return {r['name']: r for r in w['results'] + w.get('derived', {}).get('rows', [])}


def side_by_side(torch_rows, webgpu, width=40, header='case', pairs=None):
    """Lines of a table: case, WebGPU ms, PyTorch ms, WebGPU/PyTorch time ratio. pairs(name) lists the (label,
    WebGPU name) rows of a PyTorch row, only those the WebGPU side has; without it each row is matched by name,
    with '-' where the WebGPU side lacks it."""
    lines = [f"{header:{width}} {'WebGPU ms':>10} {'torch ms':>10} {'ratio':>7}"]
    for r in torch_rows:
        for label, name in pairs(r['name']) if pairs else [(r['name'], r['name'])]:
            g = webgpu.get(name)
            if g is not None:
                lines.append(f"{label:{width}} {g['medianMs']:10.3f} {r['medianMs']:10.3f} "
                             f"{g['medianMs'] / r['medianMs']:7.2f}")
            elif not pairs:
                lines.append(f"{label:{width}} {'-':>10} {r['medianMs']:10.3f} {'-':>7}")
    return lines


def print_side_by_side(torch_rows, webgpu_path, note='', **table):
    """Prints side_by_side (table: its options) when the WebGPU side's JSON is there."""
    webgpu = webgpu_rows(webgpu_path)
    if webgpu is not None:
        print(f'\nside by side (ratio = WebGPU time / PyTorch time{note})')
        print('\n'.join(side_by_side(torch_rows, webgpu, **table)))
