// Lineage of a linked version: its artifact version and everywhere it is linked
// (registries → collections → linked versions with their aliases), as a small SVG graph.
import { truncate } from "../format.js";
import { html } from "../html.js";
import { ErrorBox, Spinner, useApp, useRequest } from "./common.js";

const COL = [12, 200, 390, 580];
const NODE_W = 170;
const ROW = 40;
const LOCK = "M4 7V5a4 4 0 1 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 1 0-4 0v2z";

/**
 * Lay the graph out in four columns; a parent sits level with the middle of its children.
 *
 * @param {any} data the answer of "lineage.get"
 */
export function layout(data) {
  /** @type {any[]} */
  const nodes = [];
  /** @type {{from: any, to: any}[]} */
  const edges = [];
  let row = 0;
  const art = {
    kind: "artifact",
    label: data.artifact.ref,
    sub: data.artifact.type,
    x: COL[0],
    y: 0,
  };
  for (const reg of data.registries) {
    const regNode = {
      kind: "registry",
      label: reg.name,
      sub: reg.visibility,
      route: reg.name,
      x: COL[1],
      y: 0,
    };
    const regStart = row;
    for (const coll of reg.collections) {
      const collNode = { kind: "collection", label: coll.name, route: coll.path, x: COL[2], y: 0 };
      const collStart = row;
      for (const link of coll.links) {
        const linkNode = {
          kind: "link",
          label: link.version,
          aliases: link.aliases,
          route: link.path,
          current: link.current,
          x: COL[3],
          y: row * ROW,
        };
        nodes.push(linkNode);
        edges.push({ from: collNode, to: linkNode });
        row += 1;
      }
      collNode.y = ((collStart + row - 1) / 2) * ROW;
      nodes.push(collNode);
      edges.push({ from: regNode, to: collNode });
    }
    regNode.y = ((regStart + row - 1) / 2) * ROW;
    nodes.push(regNode);
    edges.push({ from: art, to: regNode });
  }
  art.y = (Math.max(row, 1) - 1) * ROW * 0.5;
  nodes.push(art);
  return { nodes, edges, height: Math.max(row, 1) * ROW };
}

/** @param {{path: string}} props */
export function Lineage({ path }) {
  const { navigate } = useApp();
  const { data, error } = useRequest("lineage.get", { path });
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Spinner} label="Loading lineage…" />`;
  const { nodes, edges, height } = layout(data);
  const top = 8;
  const width = COL[3] + NODE_W + 150;
  return html`<div class="rw-lineage-wrap">
    <svg class="rw-lineage" viewBox=${`0 0 ${width} ${height + top}`} width=${width}
      height=${height + top} role="img" aria-label=${`Where ${data.artifact.ref} is linked`}>
      ${edges.map((e, i) => {
        const x1 = e.from.x + NODE_W;
        const y1 = e.from.y + top + 14;
        const x2 = e.to.x;
        const y2 = e.to.y + top + 14;
        const mx = (x1 + x2) / 2;
        return html`<path key=${`e${i}`} class="rw-lineage-edge"
          d=${`M${x1} ${y1} C${mx} ${y1} ${mx} ${y2} ${x2} ${y2}`} />`;
      })}
      ${nodes.map(
        (n, i) => html`<g key=${`n${i}`}
          class=${`rw-lineage-node rw-lineage-${n.kind} ${n.current ? "rw-lineage-current" : ""} ${n.route ? "rw-lineage-link" : ""}`}
          transform=${`translate(${n.x} ${n.y + top})`} data-kind=${n.kind} data-label=${n.label}
          onClick=${n.route ? () => navigate(n.route) : undefined}>
          <title>${n.route ?? n.label}</title>
          <rect width=${n.kind === "link" ? 48 : NODE_W} height="28" rx="5" />
          <text x="8" y="18">${truncate(n.label, n.kind === "link" ? 6 : 22)}${
            n.sub ? html`<tspan class="rw-lineage-sub"> ${n.sub}</tspan>` : null
          }</text>
          ${n.kind === "link" ? aliasLabels(n.aliases) : null}
        </g>`,
      )}
    </svg>
  </div>`;
}

/** @param {{name: string, protected: boolean}[]} aliases */
function aliasLabels(aliases) {
  let x = 56;
  return aliases.map((a) => {
    const label = truncate(a.name, 18);
    const w = label.length * 7.2 + 14 + (a.protected ? 11 : 0);
    const at = x;
    x += w + 4;
    return html`<g key=${a.name} class=${`rw-lineage-alias ${a.protected ? "rw-chart-protected" : ""}`}
      transform=${`translate(${at} 4)`}>
      <rect width=${w} height="20" rx="10" />
      ${a.protected ? html`<path d=${LOCK} transform="translate(6 5) scale(0.62)" />` : null}
      <text x=${a.protected ? 18 : 7} y="14">${label}</text>
    </g>`;
  });
}
