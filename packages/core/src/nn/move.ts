import { noGrad } from '../autograd/mode.js';
import { toBackend } from '../ops/views/views.js';
import { stridesOf } from '../shape.js';
import { keep } from '../tensor/scope.js';
import { countTensor } from '../tensor/storage.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Moves a leaf tensor's data to another backend in place: the Tensor object stays the same, so fields that
 * hold it and optimizers built on it keep working (as `param.data = param.data.to(device)` in PyTorch). Its
 * gradient moves too. A no-op when it is already there.
 *
 * `Tensor.assign` refuses values from another backend, so this swaps the storage itself and moves the
 * per-backend tensor count with it (the count follows `storage.backend`, which `dispose` reads).
 */
export function moveInPlace(t: Tensor, backend: string): void {
  if (t.backend.name === backend) return;
  const moved = noGrad(() => toBackend(t, backend));
  const old = t.storage;
  moved.storage.retain();
  countTensor(old.backend.name, -1);
  countTensor(moved.backend.name, 1);
  t.storage = moved.storage;
  (t as { strides: readonly number[] }).strides = Object.freeze(stridesOf(t.shape));
  (t as { offset: number }).offset = 0;
  old.release();
  moved.dispose();
  if (t.grad) {
    const g = t.grad;
    t.grad = keep(noGrad(() => toBackend(g, backend)));
    g.dispose();
  }
}
