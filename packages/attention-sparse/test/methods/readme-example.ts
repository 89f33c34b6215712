import { randomNormal, sum, tensor } from '@attnkit/core';
import {
  BiLevelRoutingAttention,
  blockSparseAttention,
  layoutFromBlockMask,
  mobaAttention,
  patternStats,
  s2Attention,
} from '../../src/index.js';

// Queries, keys and values in attnkit's layout [batch, tokens, heads, headDim]: 64 tokens, 2 heads.
const q = randomNormal([1, 64, 2, 16], { seed: 1 });
const k = randomNormal([1, 64, 2, 16], { seed: 2 });
const v = randomNormal([1, 64, 2, 16], { seed: 3 });

// 1. The engine with your own pattern: 4 blocks of 16 tokens; each block reads block 0 and itself.
const blockMask = tensor(
  [
    [true, false, false, false],
    [true, true, false, false],
    [true, false, true, false],
    [true, false, false, true],
  ],
  { dtype: 'bool' },
);
const layout = layoutFromBlockMask(blockMask, { blockQ: 16, blockK: 16 });
const { out } = blockSparseAttention(q, k, v, layout, { causal: true });
const { density, flopBoundSpeedup } = patternStats(layout, 64, 64);
console.log(out.shape, density, flopBoundSpeedup); // [1, 64, 2, 16] 0.4375 2.2857...

// 2. Methods build their pattern (from the content where they route) and call the engine.
const moba = mobaAttention(q, k, v, { chunkSize: 16, topk: 2 }); // own block + 1 routed past block
const s2 = s2Attention(q, k, v, { blockSize: 16, localBlocks: 1, vertStride: 2 }); // per-head sharding
console.log(moba.shape, s2.shape); // [1, 64, 2, 16] [1, 64, 2, 16]

// 3. Modules train through the engine's backward: BiFormer's routing attention on an 8x8 image.
const bra = new BiLevelRoutingAttention(32, { numHeads: 2, nWin: 2, topk: 2 });
const x = randomNormal([1, 8, 8, 32], { seed: 4 });
sum(bra.forward(x)).backward();
console.log(bra.qkv.weight.grad?.shape); // [96, 32]
