import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getAttentionOp, registerAttentionOp, sdpa, unregisterAttentionOp } from '@attnkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Io, main } from '../src/main.js';
import { REPORT_HTML, REPORT_JSON } from '../src/report/write.js';

function capture(isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { isTTY, write: (s: string) => err.push(s) },
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'attention-bench-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('attention-bench --quick', () => {
  it('runs dense attention on both quick shapes, prints the table and writes the report', async () => {
    const c = capture();
    const out = path.join(dir, 'quick');
    const args = ['--quick', '--ops', 'sdpa,sdpa-causal', '--out', out];
    const { exitCode, results, htmlPath, jsonPath } = await main(args, c.io);
    expect(c.stderr()).not.toMatch(/failed/);
    expect(exitCode).toBe(0);
    expect(results.map((r) => `${r.op} ${r.shape} ${r.status}`)).toEqual([
      'sdpa B1 12x12 H4 d32 ok',
      'sdpa-causal B1 12x12 H4 d32 ok',
      'sdpa B1 128 H4 d32 ok',
      'sdpa-causal B1 128 H4 d32 ok',
      'sdpa B1 8x8x8 H4 d32 ok',
      'sdpa-causal B1 8x8x8 H4 d32 ok',
    ]);
    const text = c.stdout();
    // Without a GPU: SwiftShader is found but left aside, or no adapter at all; either way the CPU runs.
    expect(text).toMatch(
      /WebGPU: (software adapter .*--backend webgpu runs on it\)|no usable adapter .*) — using CPU/,
    );
    expect(text).toMatch(/op +shape +backend +median ms +GFLOP\/s +max error +check/);
    for (const row of ['sdpa +B1 12x12 H4 d32', 'sdpa-causal +B1 12x12 H4 d32', 'sdpa +B1 128 H4 d32']) {
      expect(text).toMatch(
        new RegExp(`^${row} +cpu +[\\d.]+ +[\\d.]+ +(\\d\\.\\de-\\d+|0) +ok \\(64 rows\\)$`, 'm'),
      );
    }
    for (const r of results) expect(r.measurement!.maxAbsError).toBeLessThan(1e-5);
    // Progress went to stderr as plain lines (not a TTY here).
    expect(c.stderr()).toMatch(/^\[1\/6\] sdpa B1 12x12 H4 d32: warm-up run$/m);

    expect(htmlPath).toBe(path.join(out, REPORT_HTML));
    const html = readFileSync(htmlPath!, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // Self-contained: nothing is fetched from elsewhere.
    expect(html).not.toMatch(/<link |<script|src=|href=|url\(/);
    expect(html).toContain('<table>');
    // Per op: three key masks and a heat map (with its colour key) on the 12x12 grid; a query x key matrix
    // and a curve of weights for the sequence.
    expect(html.match(/<figure>/g)!.length).toBe(2 * (3 + 1 + 1 + 1 + 4));
    // The 8x8x8 grid adds 4 figures per op (5 pictures: its heat map has a colour key); the sweep adds its chart.
    expect(html.match(/<svg /g)!.length).toBe(2 * (3 + 2 + 1 + 1 + 5) + 1);
    expect(html).toContain('corner query (0, 0): 1 of 144 keys');
    expect(html).toContain('centre query (6, 6): 79 of 144 keys');
    expect(html).toContain('softmax weights of the centre query (6, 6)');

    expect(jsonPath).toBe(path.join(out, REPORT_JSON));
    const json = JSON.parse(readFileSync(jsonPath!, 'utf8'));
    expect(json.machine.node).toBe(process.version);
    expect(json.backend.name).toBe('cpu');
    expect(json.command).toBe(`attention-bench ${args.join(' ')}`);
    expect(json.results).toHaveLength(6);
    expect(json.results[0].measurement.flops).toBe(4 * 4 * 32 * 144 * 144);
    // The time-against-N sweep: both ops at the quick lengths, as a table, a chart and JSON.
    expect(json.scaling.map((s: { op: string }) => s.op)).toEqual(['sdpa', 'sdpa-causal']);
    for (const s of json.scaling) expect(s.points.map((p: { n: number }) => p.n)).toEqual([64, 128]);
    expect(text).toMatch(/^time against sequence length \(ms per call\):\nop +N=64 +N=128 +against dense$/m);
    expect(html).toContain('<h2>Time against sequence length</h2>');
    expect(html).toContain('<title>time per call against N, log-log</title>');
  });

  it('runs every op that the installed attention packages register, each matching its reference', async () => {
    const c = capture();
    const { exitCode, results } = await main(
      ['--quick', '--scaling', 'off', '--out', path.join(dir, 'all')],
      c.io,
    );
    const bad = results.filter((r) => r.status === 'mismatch' || r.status === 'error');
    expect(bad.map((r) => `${r.op} ${r.shape}: ${r.status} ${r.reason ?? ''}`)).toEqual([]);
    expect(exitCode).toBe(0);
    const packages = new Set(results.map((r) => r.packageName));
    for (const p of [
      '@attnkit/core',
      '@attnkit/attention-neighborhood',
      '@attnkit/attention-linear',
      '@attnkit/attention-sparse',
    ]) {
      expect(packages).toContain(p);
    }
    // Every op ran on at least one of the two quick grids.
    const ran = new Set(results.filter((r) => r.status === 'ok').map((r) => r.op));
    expect([...new Set(results.map((r) => r.op))].filter((op) => !ran.has(op))).toEqual([]);
  }, 600_000);

  it('draws the progress as one rewritten line on a terminal', async () => {
    const c = capture(true);
    const { exitCode } = await main(
      ['--ops', 'sdpa', '--shapes', '6x6', '--scaling', 'off', '--out', path.join(dir, 'tty')],
      c.io,
    );
    expect(exitCode).toBe(0);
    expect(c.stderr()).toContain('\r\x1b[2K[1/1] sdpa B1 6x6 H4 d32: warm-up run');
    expect(c.stderr()).not.toContain('\n');
  });
});

describe('attention-bench with ops that misbehave', () => {
  const base = getAttentionOp('sdpa');
  beforeAll(() => {
    // Scale 1 instead of 1/sqrt(headDim): runs, but disagrees with the reference.
    registerAttentionOp({
      ...base,
      name: 'test.wrong',
      packageName: '@test/x',
      run: (x) => sdpa(x.q, x.k, x.v, { scale: 1 }),
    });
    registerAttentionOp({
      ...base,
      name: 'test.throws',
      packageName: '@test/x',
      run: () => {
        throw new Error('kernel exploded');
      },
    });
    registerAttentionOp({ ...base, name: 'test.seq', packageName: '@test/x', tokenRank: 1 });
  });
  afterAll(() => {
    for (const n of ['test.wrong', 'test.throws', 'test.seq']) unregisterAttentionOp(n);
  });

  it('reports mismatches, errors and skipped shapes, and exits with 1', async () => {
    const c = capture();
    const args = [
      '--ops',
      'sdpa,test.wrong,test.throws,test.seq',
      '--shapes',
      '5x5',
      '--scaling',
      'off',
      '--out',
      path.join(dir, 'bad'),
    ];
    const { exitCode, results } = await main(args, c.io);
    expect(exitCode).toBe(1);
    expect(results.map((r) => r.status)).toEqual(['ok', 'mismatch', 'error', 'skipped']);
    expect(results[1].measurement!.bad).toBeGreaterThan(0);
    expect(results[1].measurement!.maxAbsError).toBeGreaterThan(1e-3);
    const text = c.stdout();
    expect(text).toMatch(/^test\.wrong +B1 5x5 H4 d32 .* FAIL: \d+ values off$/m);
    expect(text).toMatch(/^test\.throws +B1 5x5 H4 d32 +cpu +- +- +- +ERROR \(see below\)$/m);
    expect(text).toMatch(/^test\.seq +5x5 +cpu .* skipped: takes 1 token axis$/m);
    expect(text).toMatch(/test\.throws B1 5x5 H4 d32 failed:\nError: kernel exploded/);
    expect(c.stderr()).toMatch(/2 case\(s\) failed their check or threw/);
    const html = readFileSync(path.join(dir, 'bad', REPORT_HTML), 'utf8');
    expect(html).toContain('<h2>Errors</h2>');
    expect(html).toContain('kernel exploded');
  });
});

describe('attention-bench usage', () => {
  it('prints the help', async () => {
    const c = capture();
    expect((await main(['--help'], c.io)).exitCode).toBe(0);
    expect(c.stdout()).toMatch(/--shapes S,S/);
    expect(c.stdout()).toMatch(/--quick/);
  });

  it('rejects unknown flags, ops and backends with exit code 2 and no report', async () => {
    const out = path.join(dir, 'never');
    for (const [args, message] of [
      [['--bogus'], /attention-bench: unknown flag --bogus\nRun with --help for the flags\./],
      [
        ['--ops', 'no-such-op'],
        /attention-bench: --ops: getAttentionOp: name must be a registered attention op \(sdpa, sdpa-causal.*\), got "no-such-op"/,
      ],
      [
        ['--backend', 'tpu'],
        /attention-bench: --backend tpu: no such backend is registered \(have (webgpu, )?cpu\); WebGPU: /,
      ],
    ] as const) {
      const c = capture();
      const r = await main([...args, '--out', out], c.io);
      expect(r.exitCode).toBe(2);
      expect(c.stderr()).toMatch(message);
      expect(c.stdout()).toBe('');
    }
    expect(existsSync(out)).toBe(false);
  });
});
