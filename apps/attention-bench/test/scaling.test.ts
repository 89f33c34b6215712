import { describe, expect, it } from 'vitest';
import { parseOptions, parseScaling, UsageError } from '../src/args.js';
import { scalingChartSvg } from '../src/report/scaling-chart.js';
import { crossovers, defaultScalingSizes, type ScalingSeries } from '../src/scaling.js';

const series = (op: string, ms: number[], sizes = [256, 512, 1024, 2048]): ScalingSeries => ({
  op,
  packageName: 'test',
  points: ms.map((medianMs, i) => ({ n: sizes[i], medianMs })),
});

describe('time-against-N sweep', () => {
  it('parses --scaling lengths and off, and rejects the rest', () => {
    expect(parseScaling('off')).toBe('off');
    expect(parseScaling('256, 512,1024')).toEqual([256, 512, 1024]);
    expect(() => parseScaling('512,256')).toThrow(/--scaling: lengths must ascend, got '512,256'/);
    expect(() => parseScaling('0')).toThrow(UsageError);
    expect(() => parseScaling('12a')).toThrow(/--scaling must be a positive integer, got '12a'/);
    expect(parseOptions(['--scaling', '64,128']).scaling).toEqual([64, 128]);
    expect(parseOptions([]).scaling).toBeUndefined();
  });

  it('sweeps short lengths on the CPU and long ones on GPUs', () => {
    expect(defaultScalingSizes('cpu', false)).toEqual([256, 512, 1024, 2048]);
    expect(defaultScalingSizes('webgpu', false).at(-1)).toBe(16384);
    expect(defaultScalingSizes('webgpu', true)).toEqual([64, 128]);
  });

  it('finds where an op overtakes dense attention for good', () => {
    // Dense grows 4x per doubling; the linear op 2x, from a higher start.
    const dense = series('sdpa', [1, 4, 16, 64]);
    const lin = series('linear', [3, 6, 12, 24]);
    const alwaysSlower = series('slow', [2, 8, 32, 128]);
    const alwaysFaster = series('fast', [0.5, 1, 2, 4]);
    const blip = series('blip', [0.5, 5, 10, 20]); // faster, then slower, then faster for good
    const c = crossovers([dense, lin, alwaysSlower, alwaysFaster, blip]);
    expect(c.get('linear')).toBe('faster than sdpa from N=1024');
    expect(c.get('slow')).toBe('not faster than sdpa up to N=2048');
    expect(c.get('fast')).toBe('faster than sdpa at every N swept (from 256)');
    expect(c.get('blip')).toBe('faster than sdpa from N=1024');
    expect(c.has('sdpa')).toBe(false);
    expect(crossovers([lin]).size).toBe(0);
  });

  it('draws a log-log chart with one line and legend entry per op', () => {
    const svg = scalingChartSvg([series('sdpa', [1, 4, 16, 64]), series('linear', [3, 6, 12, 24])]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(8);
    expect(svg).toContain('>linear</text>');
    // Decades on the time axis: 1 ms to 100 ms.
    for (const label of ['1 ms', '10 ms', '100 ms']) expect(svg).toContain(`>${label}</text>`);
    expect(scalingChartSvg([series('empty', [])])).toBe('');
  });
});
