import { getAttentionOp } from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import { patternFigures, weightFigures } from '../src/report/pictures.js';
import { ATTENDED, esc, gridSvg, heatColor } from '../src/report/svg.js';

const rects = (svg: string) => svg.match(/<rect /g)?.length ?? 0;

describe('report pictures', () => {
  it('merges runs of equal colour into one rectangle per run', () => {
    // Row 0: cells 1-3 attended (one run); row 1: cells 0 and 2 (two runs); plus the background and the mark.
    const on = new Set(['0,1', '0,2', '0,3', '1,0', '1,2']);
    const svg = gridSvg({
      rows: 2,
      cols: 5,
      cell: 10,
      fill: (r, c) => (on.has(`${r},${c}`) ? ATTENDED : null),
      marks: [[0, 0]],
      title: 'a <test>',
    });
    expect(rects(svg)).toBe(1 + 3 + 1);
    expect(svg).toContain(`<rect x="10" y="0" width="30" height="10" fill="${ATTENDED}"/>`);
    expect(svg).toContain('<title>a &#60;test&#62;</title>');
    expect(esc(`"x" & 'y'`)).toBe('&#34;x&#34; &#38; &#39;y&#39;');
  });

  it('maps weights to a light-to-dark scale', () => {
    expect(heatColor(0)).toBe('#f6f8fb');
    expect(heatColor(1)).toBe('#0c2a5b');
    expect(heatColor(2)).toBe(heatColor(1));
    const lum = (hex: string) => [1, 3, 5].reduce((s, i) => s + Number.parseInt(hex.slice(i, i + 2), 16), 0);
    for (let i = 0; i < 10; i++) expect(lum(heatColor((i + 1) / 10))).toBeLessThan(lum(heatColor(i / 10)));
  });

  it('draws causal key masks of landmark queries, with the counts in the captions', () => {
    const causal = getAttentionOp('sdpa-causal');
    const w = causal.workloadFor!({ batch: 1, tokens: [8, 10], heads: 1, headDim: 4 });
    const figs = patternFigures(causal, w);
    expect(figs.map((f) => f.caption)).toEqual([
      'corner query (0, 0): 1 of 80 keys',
      'edge query (0, 5): 6 of 80 keys',
      'centre query (4, 5): 46 of 80 keys',
    ]);
    // The centre query's mask: 4 full rows and 6 cells of row 4 (two rectangles), background, query mark.
    expect(rects(figs[2].svg)).toBe(1 + 4 + 1 + 1);
  });

  it('draws video grids as frames side by side', () => {
    const causal = getAttentionOp('sdpa-causal');
    const w = causal.workloadFor!({ batch: 1, tokens: [9, 4, 4], heads: 1, headDim: 4 });
    const [, , centre] = patternFigures(causal, w);
    expect(centre.caption).toBe('centre query (4, 2, 2): 75 of 144 keys; frames 2-6 of 9');
  });

  it('draws the query x key matrix of a sequence op and its weights as a curve', () => {
    const causal = getAttentionOp('sdpa-causal');
    const w = causal.workloadFor!({ batch: 1, tokens: [300], heads: 1, headDim: 4 });
    const [matrix] = patternFigures(causal, w);
    // 300 tokens in blocks of 3: a 100x100 matrix; the lower triangle plus the diagonal is attended.
    expect(matrix.caption).toBe(
      'query (down) x key (across) mask, each cell 3x3 pairs, darker = more of them attended; 50.2% of pairs attended',
    );
    const [curve] = weightFigures(causal, w, 0);
    expect(curve.svg).toContain('<polygon');
    expect(curve.caption).toMatch(
      /^softmax weights of the centre query \(150\), batch 0, head 0; largest 0\.\d+/,
    );
  });
});
