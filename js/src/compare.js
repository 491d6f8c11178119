// Side-by-side comparison of versions' metadata: which keys differ. No DOM.

/**
 * One row per metadata key present in any of the versions, in first-seen order.
 * `differs` is true when the versions do not all hold the same value (a missing key counts).
 *
 * @param {{metadata: Record<string, any>}[]} versions
 * @returns {{key: string, values: any[], differs: boolean}[]}
 */
export function diffRows(versions) {
  /** @type {string[]} */
  const keys = [];
  const seen = new Set();
  for (const v of versions) {
    for (const k of Object.keys(v.metadata)) {
      if (!seen.has(k)) {
        seen.add(k);
        keys.push(k);
      }
    }
  }
  return keys.map((key) => {
    const values = versions.map((v) => (key in v.metadata ? v.metadata[key] : undefined));
    const first = JSON.stringify(values[0] ?? null) + String(values[0] === undefined);
    const differs = values.some(
      (x) => JSON.stringify(x ?? null) + String(x === undefined) !== first,
    );
    return { key, values, differs };
  });
}

/**
 * Which of two numbers is better is unknown (loss vs accuracy); describe the change instead.
 *
 * @param {any} value
 * @param {any} base
 * @returns {string} e.g. "+0.012", "−3", or "" when not both numbers
 */
export function delta(value, base) {
  if (typeof value !== "number" || typeof base !== "number" || value === base) return "";
  const d = Number((value - base).toPrecision(6));
  return d > 0 ? `+${d}` : `−${Math.abs(d)}`;
}
