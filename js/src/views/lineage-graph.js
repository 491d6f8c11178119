// The lineage graph of a linked version: the data and runs upstream, the runs and versions
// downstream, and where each version is linked, left to right. The kernel sends the nodes
// (only those the user may see) with their pages; this draws them. Tab visits the nodes
// column by column, top to bottom; Enter opens the one focused.
import { useState } from "preact/hooks";
import { layoutGraph } from "../graph-layout.js";
import { html } from "../html.js";
import { runRoute } from "../tool-routes.js";
import { ErrorBox, Spinner, useApp, useRequest } from "./common.js";

// Five columns (a 3-hop chain) fit a notebook's output area beside JupyterLab's sidebar.
const SIZES = { nodeWidth: 154, nodeHeight: 40, colGap: 34, rowGap: 10, indent: 16 };
const PAD = 4;
const STEP = 2;

/** @param {{node: any}} props */
function Node({ node }) {
  const { navigate } = useApp();
  const style = `left:${node.x + PAD}px;top:${node.y + PAD}px;width:${node.width}px;height:${SIZES.nodeHeight}px`;
  const cls = `rw-graph-node rw-graph-${node.kind} ${node.kind === "run" ? `rw-run-${node.sub}` : ""} ${node.current ? "rw-graph-current" : ""}`;
  const body = html`<span class="rw-graph-label">${node.label}</span>
    <span class="rw-graph-sub">${node.sub || "\u00a0"}</span>`;
  // A run opens its page; a version or a link, the linked version's page.
  const route = node.kind === "run" ? runRoute(node.target) : node.path;
  if (!route) {
    return html`<div class=${cls} style=${style} title=${node.title} data-key=${node.key}
      data-kind=${node.kind} data-label=${node.label}>${body}</div>`;
  }
  return html`<a class=${`${cls} rw-graph-go`} href="#" style=${style} title=${node.title}
    data-key=${node.key} data-kind=${node.kind} data-label=${node.label}
    aria-current=${node.current ? "page" : undefined}
    onClick=${(/** @type {Event} */ e) => {
      e.preventDefault();
      navigate(route);
    }}>${body}</a>`;
}

/**
 * Draw a graph answered by "lineage.graph".
 *
 * @param {{data: any, label: string}} props
 */
export function GraphDrawing({ data, label }) {
  const { nodes, edges, width, height } = layoutGraph(data.nodes, data.edges, SIZES);
  const w = width + 2 * PAD;
  const h = height + 2 * PAD;
  return html`<div class="rw-graph-wrap" role="group" aria-label=${label}>
    <div class="rw-graph" style=${`width:${w}px;height:${h}px`} data-columns=${String(
      new Set(nodes.map((n) => n.col)).size,
    )}>
      <svg class="rw-graph-edges" width=${w} height=${h} viewBox=${`0 0 ${w} ${h}`} aria-hidden="true">
        <defs><marker id="rw-graph-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7"
          markerHeight="7" orient="auto-start-reverse">
          <path d="M0 0 L8 4 L0 8 z" fill="currentColor" /></marker></defs>
        <g transform=${`translate(${PAD} ${PAD})`}>${edges.map(
          (e) => html`<path key=${`${e.source}>${e.target}`}
            class=${`rw-graph-edge rw-graph-edge-${e.kind}`} data-source=${e.source}
            data-target=${e.target} d=${e.d} marker-end="url(#rw-graph-arrow)" />`,
        )}</g>
      </svg>
      ${[...nodes]
        .sort((a, b) => a.col - b.col || a.y - b.y)
        .map((n) => html`<${Node} key=${n.key} node=${n} />`)}
    </div>
  </div>`;
}

/** @param {{path: string}} props */
export function LineageGraph({ path }) {
  const [steps, setSteps] = useState({ upstream: STEP, downstream: STEP });
  const { data, error, loading } = useRequest("lineage.graph", { path, ...steps });
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Spinner} label="Loading lineage…" />`;
  const alone = data.nodes.every((/** @type {any} */ n) => n.kind !== "run");
  return html`<div class="rw-lineage-graph">
    ${
      alone
        ? html`<p class="rw-muted">No run used or produced this version yet. Log it
          inside <code>client.start_run(...)</code> to record which data and settings made it.</p>`
        : null
    }
    <div class="rw-toolbar">
      ${
        data.more_upstream
          ? html`<button class="rw-btn rw-btn-small" onClick=${() =>
              setSteps({ ...steps, upstream: data.upstream + STEP })}>← More upstream</button>`
          : null
      }
      <span class="rw-muted">Data flows left to right: what it was made from, the run that
        made it, this version and where it is linked, what used it.</span>
      ${loading ? html`<${Spinner} label="" />` : null}
      ${
        data.more_downstream
          ? html`<button class="rw-btn rw-btn-small" onClick=${() =>
              setSteps({
                ...steps,
                downstream: data.downstream + STEP,
              })}>More downstream →</button>`
          : null
      }
    </div>
    <${GraphDrawing} data=${data} label=${`Lineage of ${path}`} />
  </div>`;
}
