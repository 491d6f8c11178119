// One metric across a collection's versions, drawn as SVG: a line with a point per version,
// the selected versions emphasised, and each alias written above the version that holds it.
// Every label is an SVG text node (text, never markup).

import { useEffect, useRef, useState } from "preact/hooks";
import { formatNumber, linearScale, linePath, niceTicks, series } from "../chart.js";
import { countOf, truncate } from "../format.js";
import { html } from "../html.js";

const DEFAULT_W = 440;
const MIN_W = 280;
const MANY = 60;
const H = 230;
const M = { left: 54, right: 16, top: 42, bottom: 34 };
const LOCK = "M4 7V5a4 4 0 1 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 1 0-4 0v2z";

/**
 * @param {{name: string, versions: any[], selected: Set<string>,
 *   onToggle: (version: string) => void}} props
 */
export function MetricChart({ name, versions, selected, onToggle }) {
  // The chart takes the width its cell of the grid gives it.
  const box = useRef(/** @type {HTMLElement | null} */ (null));
  const [width, setWidth] = useState(DEFAULT_W);
  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === "undefined") return undefined;
    const observer = new ResizeObserver((entries) => {
      const w = Math.floor(entries[0]?.contentRect.width ?? DEFAULT_W);
      if (w > 0) setWidth(Math.max(MIN_W, w));
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const W = width;
  // Hundreds of versions: small points, so the line stays readable; selected ones stay large.
  const dot = versions.length > MANY ? 1.8 : 3.5;
  const order = new Map(versions.map((v, i) => [v.version, i]));
  const byVersion = new Map(versions.map((v) => [v.version, v]));
  const points = series(versions, name);
  const values = points.map((p) => p.value);
  const { ticks, domain } = niceTicks(Math.min(...values), Math.max(...values), 4);
  const x = linearScale([0, Math.max(1, versions.length - 1)], [M.left + 14, W - M.right - 8]);
  const y = linearScale(domain, [H - M.bottom, M.top]);
  const xy = points.map((p) => ({ ...p, x: x(order.get(p.version) ?? 0), y: y(p.value) }));
  const step = Math.max(1, Math.ceil(versions.length / Math.max(4, Math.floor(W / 70))));
  const labelled = versions.filter((_, i) => i % step === 0 || i === versions.length - 1);
  const withAliases = xy.filter((p) => (byVersion.get(p.version)?.aliases ?? []).length > 0);
  return html`<figure class="rw-chart" data-metric=${name} ref=${box}>
    <figcaption class="rw-chart-title">${name}</figcaption>
    <svg viewBox=${`0 0 ${W} ${H}`} width=${W} height=${H} role="img"
      aria-label=${`${name} across ${countOf(points.length, "version")}`}>
      ${ticks.map(
        (t) => html`<g key=${`y${t}`}>
          <line class="rw-chart-grid" x1=${M.left} x2=${W - M.right} y1=${y(t)} y2=${y(t)} />
          <text class="rw-chart-tick" x=${M.left - 6} y=${y(t)} text-anchor="end"
            dominant-baseline="middle">${formatNumber(t)}</text>
        </g>`,
      )}
      <line class="rw-chart-axis" x1=${M.left} x2=${W - M.right} y1=${H - M.bottom} y2=${H - M.bottom} />
      ${labelled.map(
        (
          v,
        ) => html`<text key=${`x${v.version}`} class="rw-chart-tick" x=${x(order.get(v.version) ?? 0)}
          y=${H - M.bottom + 16} text-anchor="middle">${v.version}</text>`,
      )}
      ${withAliases.map((p, i) => {
        const aliases = byVersion.get(p.version)?.aliases ?? [];
        const label = truncate(aliases.map((/** @type {any} */ a) => a.name).join(", "), 22);
        const isProtected = aliases.some((/** @type {any} */ a) => a.protected);
        const ly = i % 2 === 0 ? 14 : 28;
        const half = (label.length * 6.4 + (isProtected ? 14 : 0)) / 2;
        const lx = Math.min(Math.max(p.x, M.left + half), W - M.right - half);
        return html`<g key=${`a${p.version}`} class=${`rw-chart-alias ${isProtected ? "rw-chart-protected" : ""}`}
          data-version=${p.version}>
          <line class="rw-chart-alias-line" x1=${p.x} x2=${p.x} y1=${ly + 4} y2=${p.y - 6} />
          ${
            isProtected
              ? html`<path d=${LOCK} transform=${`translate(${lx - half} ${ly - 9}) scale(0.62)`} />`
              : null
          }
          <text x=${lx + (isProtected ? 8 : 0)} y=${ly} text-anchor="middle">${label}</text>
        </g>`;
      })}
      <path class="rw-chart-line" d=${linePath(xy)} />
      ${xy.map((p) => {
        const on = selected.has(p.version);
        const aliases = (byVersion.get(p.version)?.aliases ?? []).map(
          (/** @type {any} */ a) => a.name,
        );
        return html`<circle key=${`p${p.version}`} class=${`rw-chart-point ${on ? "rw-chart-selected" : ""}`}
          cx=${p.x} cy=${p.y} r=${on ? 5.5 : dot} data-version=${p.version}
          onClick=${() => onToggle(p.version)}>
          <title>${`${p.version}: ${p.value}${aliases.length ? ` (${aliases.join(", ")})` : ""}`}</title>
        </circle>`;
      })}
    </svg>
  </figure>`;
}
