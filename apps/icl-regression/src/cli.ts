#!/usr/bin/env node
// Reproduces "In-Context Linear Regression Demystified" (arXiv 2503.12734) at small scale: trains one layer
// of multi-head softmax attention on fresh linear-regression tasks, compares its in-context test loss with
// one-step GD and ridge regression, and prints the weight patterns the paper describes.
import { Generator } from '@attnkit/core';
import { type CliOptions, parseCli, USAGE } from './args.js';
import { PAPER_TASK, sampleTasks } from './data.js';
import { summarize } from './patterns.js';
import { baselines, gdTheory } from './predictors.js';
import { ProgressBar } from './progress.js';
import { baselineReport, curveReport, patternReport, patternsHold, resultReport } from './report.js';
import { evaluate, train } from './train.js';

// Fixed seeds for the held-out sets, so every run (any --seed) is measured on the same tasks.
const TUNE_SEED = 1_000_003;
const TEST_SEED = 2_000_003;

function run(o: CliOptions): void {
  const task = PAPER_TASK;
  const D = task.d + 1;
  const params = o.heads * (3 * D * D + D);
  console.log(
    `In-context linear regression: d = ${task.d}, L = ${task.L}, x ~ N(0, I), β ~ N(0, I/d), noise σ² = ${task.noiseVar}`,
  );
  console.log(
    `Model: 1 softmax attention layer, H = ${o.heads} heads of dim ${D}, ${params} parameters. Optimiser: Adam ` +
      `(core AdamW with weight decay 0), peak lr ${o.lr}, warm-up + cosine decay, batch ${o.batch}, ` +
      `${o.steps} steps, seed ${o.seed}${o.quick ? ' (--quick)' : ''}`,
  );

  const tune = sampleTasks(task, o.evalTasks, new Generator(TUNE_SEED));
  const test = sampleTasks(task, o.evalTasks, new Generator(TEST_SEED));
  const base = baselines(tune, test);
  const theory = gdTheory(task);
  console.log(`\nBaselines (η and λ tuned on ${o.evalTasks} tasks; losses on ${o.evalTasks} other tasks)`);
  console.log(baselineReport(base));
  console.log(
    `  population optimum of one-step GD: η* = ${theory.eta.toFixed(3)}, loss ${theory.loss.toFixed(4)}`,
  );

  console.log('\nTraining (progress on stderr)');
  const bar = new ProgressBar('train', o.steps);
  let ema = Number.NaN;
  const result = train({
    task,
    heads: o.heads,
    steps: o.steps,
    batch: o.batch,
    lr: o.lr,
    seed: o.seed,
    test,
    onStep: (step, loss, lr) => {
      ema = Number.isNaN(ema) ? loss : 0.98 * ema + 0.02 * loss;
      bar.update(step, `loss ${ema.toFixed(4)}  lr ${lr.toExponential(1)}`);
    },
  });
  bar.finish(`loss ${ema.toFixed(4)}`);
  console.log(curveReport(result.curve));
  console.log(
    `  ${result.seconds.toFixed(1)} s of training, ${((1000 * result.seconds) / o.steps).toFixed(2)} ms/step`,
  );

  const modelLoss = evaluate(result.model, test);
  const outcome = resultReport(modelLoss, base);
  console.log('\nResult');
  console.log(outcome.text);

  const patterns = summarize(result.model.headWeights());
  console.log('\nLearned patterns');
  console.log(patternReport(patterns));
  console.log(`  all pattern statistics within limits: ${patternsHold(patterns) ? 'yes' : 'no'}`);
  result.model.dispose();
}

let opts: CliOptions;
try {
  opts = parseCli(process.argv.slice(2));
} catch (e) {
  console.error(`${e instanceof Error ? e.message : e}\n\n${USAGE}`);
  process.exit(2);
}
if (opts.help) console.log(USAGE);
else run(opts);
