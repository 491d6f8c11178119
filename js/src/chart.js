// Pure chart geometry for the comparison page: scales, "nice" ticks, paths. No DOM.

/**
 * A linear map from a data domain onto a pixel range. A flat domain maps to the range's middle.
 *
 * @param {[number, number]} domain
 * @param {[number, number]} range
 * @returns {(v: number) => number}
 */
export function linearScale([d0, d1], [r0, r1]) {
  if (d1 === d0) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/**
 * Round tick values covering [min, max]: steps of 1, 2, 2.5 or 5 × 10^n, about `count` of them.
 * Returns the ticks and the (possibly widened) domain they span.
 *
 * @param {number} min
 * @param {number} max
 * @param {number} [count]
 * @returns {{ticks: number[], domain: [number, number]}}
 */
export function niceTicks(min, max, count = 5) {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { ticks: [], domain: [0, 1] };
  let lo = Math.min(min, max);
  let hi = Math.max(min, max);
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(lo / step) * step;
  const end = Math.ceil(hi / step) * step;
  /** @type {number[]} */
  const ticks = [];
  for (let i = 0; start + i * step <= end + step / 1e6; i += 1) {
    ticks.push(Number((start + i * step).toPrecision(12)));
  }
  return { ticks, domain: [ticks[0], ticks[ticks.length - 1]] };
}

/**
 * A short label for a tick or a value: 0.915, 1.2k, 3e-7.
 *
 * @param {number} v
 */
export function formatNumber(v) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e7)) return v.toExponential(1).replace("e+", "e");
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(4)));
}

/**
 * Points of one metric across versions: only versions where it is a finite number.
 *
 * @param {{version: string, index: number, metadata: Record<string, any>}[]} versions
 * @param {string} key
 * @returns {{version: string, index: number, value: number}[]}
 */
export function series(versions, key) {
  return versions
    .filter((v) => typeof v.metadata[key] === "number" && Number.isFinite(v.metadata[key]))
    .map((v) => ({ version: v.version, index: v.index, value: v.metadata[key] }));
}

/**
 * The metadata keys worth a chart: numeric (never boolean) in at least two versions,
 * in the order they first appear.
 *
 * @param {{metadata: Record<string, any>}[]} versions
 * @returns {string[]}
 */
export function numericKeys(versions) {
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (const v of versions) {
    for (const [k, value] of Object.entries(v.metadata)) {
      if (typeof value === "number" && Number.isFinite(value)) {
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
    }
  }
  return [...counts].filter(([, n]) => n >= 2).map(([k]) => k);
}

/**
 * An SVG path through points ("M x y L x y …").
 *
 * @param {{x: number, y: number}[]} points
 */
export function linePath(points) {
  return points
    .map((p, i) => `${i === 0 ? "M" : "L"}${p.x.toFixed(1)} ${p.y.toFixed(1)}`)
    .join(" ");
}
