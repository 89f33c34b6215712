import { memory, type Tensor } from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import {
  enhancedLinearAttention,
  inlineAttention,
  kroneckerAttention,
  lightnetAttention,
  lightningAttention,
  lightningAttentionBlockwise,
  linearAttention,
  llaAttention,
  mdLrpe,
} from '../src/index.js';
import { rand } from './helpers.js';

// Every function frees its temporaries: after a warm-up call, repeated calls (outputs disposed) leave the
// number of live tensors and bytes on the CPU unchanged.
describe('no leaks', () => {
  const q = rand([1, 9, 2, 3], 1);
  const k = rand([1, 9, 2, 3], 2);
  const v = rand([1, 9, 2, 3], 3);
  const cases: [string, () => Tensor][] = [
    ['linearAttention', () => linearAttention(q, k, v)],
    ['linearAttention causal', () => linearAttention(q, k, v, { causal: true })],
    ['lightningAttention', () => lightningAttention(q, k, v)],
    ['lightningAttentionBlockwise', () => lightningAttentionBlockwise(q, k, v, { blockSize: 4 })],
    ['lightnetAttention', () => lightnetAttention(q, k, v)],
    ['lightnetAttention order-free', () => lightnetAttention(q, k, v, { causal: false })],
    ['inlineAttention', () => inlineAttention(q, k, v)],
    ['enhancedLinearAttention', () => enhancedLinearAttention(q, k, v)],
    ['llaAttention', () => llaAttention(q, k, v, { blockSize: 4 })],
    ['kroneckerAttention', () => kroneckerAttention(q, k, k, v, v)],
    ['mdLrpe', () => mdLrpe(q)],
  ];
  it.each(cases)('%s', (_name, f) => {
    f().dispose();
    const before = memory('cpu');
    for (let i = 0; i < 3; i++) f().dispose();
    const after = memory('cpu');
    expect(after).toEqual(before);
  });
});
