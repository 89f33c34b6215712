import { describe, expect, it } from 'vitest';
import { axisTables, axisWindow } from '../src/window/axis.js';
import { fillNeighbors, neighborMask, windowGeometry } from '../src/window/window.js';
import { axisConfigs, flexMask, referenceMask } from './brute-force.js';

/** The keys of each query on one axis by our rule, as sorted lists. */
function ourWindows(n: number, k: number, s: number, d: number, causal: boolean): number[][] {
  const g = windowGeometry([n], { kernelSize: [k], dilation: [d], stride: [s], causal: [causal] });
  const keys = new Int32Array(k);
  return Array.from({ length: n }, (_, q) => {
    fillNeighbors(g, q, keys);
    return [...keys].filter((x) => x >= 0).sort((x, y) => x - y);
  });
}

const rows = (m: boolean[][]) => m.map((r) => r.flatMap((ok, j) => (ok ? [j] : [])));

describe('per-axis index rule', () => {
  it('matches both transcriptions of NATTEN on every config with n <= 20', () => {
    let count = 0;
    const bad: string[] = [];
    for (const { n, k, s, d, causal } of axisConfigs(2, 20)) {
      const ours = ourWindows(n, k, s, d, causal);
      const ref = rows(referenceMask(n, k, s, d, causal));
      const flex = rows(flexMask(n, k, s, d, causal));
      if (JSON.stringify(ours) !== JSON.stringify(ref) || JSON.stringify(ref) !== JSON.stringify(flex)) {
        bad.push(`n=${n} k=${k} s=${s} d=${d} causal=${causal}`);
      }
      count++;
    }
    expect(count).toBeGreaterThan(4000);
    expect(bad).toEqual([]);
  });

  it('gives every non-causal query exactly k keys, itself included', () => {
    const bad: string[] = [];
    for (const { n, k, s, d, causal } of axisConfigs(2, 16)) {
      if (causal) continue;
      ourWindows(n, k, s, d, false).forEach((keys, q) => {
        if (keys.length !== k || !keys.includes(q)) bad.push(`n=${n} k=${k} s=${s} d=${d} q=${q}`);
      });
    }
    expect(bad).toEqual([]);
  });

  // Spec 1.3, worked examples (generated there by na_check.py from the transcribed rule).
  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
  it.each([
    ['n=8 k=3', [8, 3, 1, 1, false], { 0: [0, 1, 2], 1: [0, 1, 2], 2: [1, 2, 3], 7: [5, 6, 7] }],
    [
      'n=8 k=4 (even)',
      [8, 4, 1, 1, false],
      { 0: range(0, 3), 1: range(0, 3), 2: range(0, 3), 3: [1, 2, 3, 4] },
    ],
    [
      'n=8 k=4 s=2',
      [8, 4, 2, 1, false],
      {
        0: range(0, 3),
        1: range(0, 3),
        2: range(1, 4),
        3: range(1, 4),
        4: range(3, 6),
        5: range(3, 6),
        6: range(4, 7),
        7: range(4, 7),
      },
    ],
    [
      'n=8 k=4 s=4 (blocked)',
      [8, 4, 4, 1, false],
      { 0: range(0, 3), 3: range(0, 3), 4: range(4, 7), 7: range(4, 7) },
    ],
    ['n=10 k=4 s=4', [10, 4, 4, 1, false], { 8: range(6, 9), 9: range(6, 9) }],
    [
      'n=8 k=4 s=2 causal',
      [8, 4, 2, 1, true],
      {
        0: [0],
        1: [0, 1],
        2: [0, 1, 2],
        3: range(0, 3),
        4: [2, 3, 4],
        5: range(2, 5),
        6: [4, 5, 6],
        7: range(4, 7),
      },
    ],
    ['n=10 k=3 d=3', [10, 3, 1, 3, false], { 7: [1, 4, 7], 6: [3, 6, 9], 0: [0, 3, 6] }],
  ] as const)('spec example %s', (_name, [n, k, s, d, causal], expected) => {
    const ours = ourWindows(n, k, s, d, causal);
    for (const [q, keys] of Object.entries(expected)) expect(ours[Number(q)]).toEqual(keys);
  });

  it('puts an even window r keys left and r - 1 right of an interior query', () => {
    const w = axisWindow(5, { size: 12, kernelSize: 6, dilation: 1, stride: 1, causal: false });
    expect(w.start).toBe(2); // 5 - 3 = 2 .. 5 + 2 = 7
  });
});

describe('relative positional bias index (spec 1.4)', () => {
  // NATTEN 0.17.5's natten_cpu_commons.h, transcribed: window start and bias start of query i (odd k, s = 1).
  function legacyWindowStart(i: number, n: number, k: number, d: number): number {
    const ns = Math.floor(k / 2);
    const di = i % d;
    const ip = Math.floor(i / d);
    let lp = Math.floor((n + d - 1) / d);
    const npad = lp * d - n;
    if (di >= d - npad) lp -= 1;
    const st = Math.max(ip - ns, 0) + (ip + ns >= lp ? lp - ip - ns - 1 : 0);
    return st * d + di;
  }
  function legacyBiasStart(i: number, n: number, k: number, d: number): number {
    const ns = Math.floor(k / 2);
    if (d <= 1) return ns + (i < ns ? ns - i : 0) + (i + ns >= n ? n - i - 1 - ns : 0);
    if (i - ns * d < 0) return k - 1 - Math.floor(i / d);
    if (i + ns * d >= n) return Math.floor((n - i - 1) / d);
    return ns;
  }

  it('equals the legacy get_pb_start + slot for every n <= 40, odd k, every dilation', () => {
    let checked = 0;
    const bad: string[] = [];
    for (let n = 3; n <= 40; n++) {
      for (let k = 3; k <= n; k += 2) {
        for (let d = 1; d * k <= n; d++) {
          const t = axisTables({ size: n, kernelSize: k, dilation: d, stride: 1, causal: false });
          for (let i = 0; i < n; i++) {
            const start = legacyWindowStart(i, n, k, d);
            const pb = legacyBiasStart(i, n, k, d);
            for (let j = 0; j < k; j++) {
              if (t.key[i * k + j] !== start + j * d || t.bias[i * k + j] !== pb + j)
                bad.push(`n=${n} k=${k} d=${d} i=${i} j=${j}`);
              checked++;
            }
          }
        }
      }
    }
    expect(bad).toEqual([]);
    expect(checked).toBeGreaterThan(10000);
  });
});

describe('multi-axis neighborhoods', () => {
  /** Brute force: the Cartesian product of the per-axis reference masks. */
  function productMask(
    tokens: number[],
    per: { k: number; s: number; d: number; causal: boolean }[],
    q: number,
  ) {
    const masks = tokens.map((n, a) => referenceMask(n, per[a].k, per[a].s, per[a].d, per[a].causal));
    const coords = (x: number) => {
      const c: number[] = [];
      for (let a = tokens.length - 1; a >= 0; a--) {
        c[a] = x % tokens[a];
        x = Math.floor(x / tokens[a]);
      }
      return c;
    };
    const total = tokens.reduce((x, y) => x * y, 1);
    const qc = coords(q);
    return Array.from({ length: total }, (_, kv) => (coords(kv).every((c, a) => masks[a][qc[a]][c]) ? 1 : 0));
  }

  it('equals the product of per-axis masks on a few hundred random 2-D and 3-D configs', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let configs = 0;
    const bad: string[] = [];
    for (let trial = 0; trial < 300; trial++) {
      const rank = trial % 3 === 0 ? 3 : 2;
      const tokens = Array.from({ length: rank }, () => 2 + rand(rank === 3 ? 4 : 7));
      const per = tokens.map((n) => {
        const k = 2 + rand(n - 1);
        const d = 1 + rand(Math.floor(n / k));
        return { k, d, s: 1 + rand(k), causal: rand(3) === 0 };
      });
      const g = windowGeometry(tokens, {
        kernelSize: per.map((p) => p.k),
        dilation: per.map((p) => p.d),
        stride: per.map((p) => p.s),
        causal: per.map((p) => p.causal),
      });
      for (let q = 0; q < g.numTokens; q++) {
        const want = productMask(tokens, per, q);
        if (neighborMask(g, q).some((x, j) => x !== want[j]))
          bad.push(`${JSON.stringify({ tokens, per })} q=${q}`);
      }
      configs++;
    }
    expect(bad).toEqual([]);
    expect(configs).toBe(300);
  });

  it('orders slots row-major over the per-axis offsets, axis 0 slowest', () => {
    const g = windowGeometry([5, 6], {
      kernelSize: [2, 3],
      dilation: [1, 2],
      stride: [1, 1],
      causal: [false, false],
    });
    const keys = new Int32Array(6);
    fillNeighbors(g, 2 * 6 + 3, keys); // query (2, 3): even k=2 takes 1 row above -> rows {1, 2}; column 3 is in dilation group 1 = {1, 3, 5}
    expect([...keys]).toEqual([1 * 6 + 1, 1 * 6 + 3, 1 * 6 + 5, 2 * 6 + 1, 2 * 6 + 3, 2 * 6 + 5]);
  });
});
