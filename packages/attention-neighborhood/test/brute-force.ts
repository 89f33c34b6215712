// Independent transcriptions of NATTEN's mask predicates (spec 1.3 and checks/na_check.py), written as
// (query, key) -> allowed without any window arithmetic shared with src/window: the oracle of the index tests.

/** NATTEN's reference mask (mask.hpp: get_win_start / get_win_end, qkv_fix_dilation). */
export function referenceMask(n: number, k: number, s: number, d: number, causal: boolean): boolean[][] {
  const wl = Math.floor(k / 2);
  const wr = Math.floor(k / 2) + (k % 2) - 1;
  const m: boolean[][] = [];
  for (let q = 0; q < n; q++) {
    const g = q % d;
    const qi = Math.floor(q / d);
    const len = Math.floor(n / d) + 1 - Math.floor((g + (d - (n % d))) / d);
    let st: number;
    let en: number;
    if (causal) {
      const lead = Math.min(Math.floor(qi / s) * s + s - 1, len - 1);
      st = Math.max(lead - wl - wr, 0);
      en = Math.min(qi + 1, len);
    } else {
      const lead = Math.min(Math.floor(qi / s) * s + Math.floor(s / 2), len - 1);
      st = Math.max(lead - wl, 0) + (lead + wr >= len ? len - wr - lead - 1 : 0);
      en = st + k;
    }
    const row: boolean[] = [];
    for (let kv = 0; kv < n; kv++) {
      const ki = Math.floor(kv / d);
      row.push(kv % d === g && st <= ki && ki < en);
    }
    m.push(row);
  }
  return m;
}

/** NATTEN's flex-attention mask_mod (backends/flex.py), a different formulation of the same rule. */
export function flexMask(n: number, k: number, s: number, d: number, causal: boolean): boolean[][] {
  const wl = Math.floor(k / 2);
  const wr = Math.floor(k / 2) + (k % 2) - 1;
  const m: boolean[][] = [];
  for (let q = 0; q < n; q++) {
    const row: boolean[] = [];
    for (let kv = 0; kv < n; kv++) {
      const qi = Math.floor(q / d);
      const ki = Math.floor(kv / d);
      const qg = q % d;
      const pad = 1 - Math.floor((qg + (d - (n % d))) / d);
      const len = Math.floor(n / d) + pad;
      let ok: boolean;
      if (causal) {
        const lead = Math.min(Math.floor(qi / s) * s + s - 1, len - 1);
        ok = qi - ki >= 0 && lead - ki < k;
      } else {
        const lead = Math.min(Math.floor(qi / s) * s + Math.floor(s / 2), len - 1);
        const c = Math.max(wl, Math.min(lead, len - 1 - wr));
        ok = (c - ki >= 0 && c - ki <= wl) || (ki - c >= 0 && ki - c <= wr);
      }
      row.push(ok && qg === kv % d);
    }
    m.push(row);
  }
  return m;
}

/** Every valid (n, k, s, d, causal) of one axis with `n` in `[nMin, nMax]` (NATTEN's checks). */
export function* axisConfigs(
  nMin: number,
  nMax: number,
): Generator<{ n: number; k: number; s: number; d: number; causal: boolean }> {
  for (let n = nMin; n <= nMax; n++)
    for (let k = 2; k <= n; k++)
      for (let d = 1; d * k <= n; d++)
        for (let s = 1; s <= k; s++) for (const causal of [false, true]) yield { n, k, s, d, causal };
}
