// Compare a collection's versions: pick two or more, see their metadata side by side with the
// differences highlighted, and a chart of each numeric metric across all versions.
import { useState } from "preact/hooks";
import { numericKeys } from "../chart.js";
import { delta, diffRows } from "../compare.js";
import { countOf, formatValue } from "../format.js";
import { html } from "../html.js";
import { runRoute } from "../tool-routes.js";
import { Chip, ErrorBox, Link, LockIcon, PageHead, Spinner, useRequest } from "./common.js";
import { MetricChart } from "./metric-chart.js";

const CHARTS = 6;

/**
 * The versions selected at first: what holds a protected alias (production) against the
 * newest version, the question people ask; the newest two when nothing is protected.
 *
 * @param {any[]} versions oldest first
 * @returns {string[]}
 */
export function defaultSelection(versions) {
  const newest = versions.at(-1)?.version;
  const held = versions
    .filter((v) => v.aliases.some((/** @type {any} */ a) => a.protected))
    .map((v) => v.version);
  if (held.length > 0 && newest !== undefined) return [...new Set([...held, newest])].slice(0, 4);
  return versions.slice(-2).map((v) => v.version);
}

/** @param {{aliases: any[]}} props */
function Aliases({ aliases }) {
  return aliases.map(
    (a) => html`<${Chip} kind=${`rw-alias ${a.protected ? "rw-protected" : ""}`}
      title=${a.protected ? "Protected alias" : undefined}>
      ${a.protected ? html`<${LockIcon} />` : null}${a.name}<//>`,
  );
}

/** @param {{picked: any[]}} props */
function SideBySide({ picked }) {
  const [onlyDiff, setOnlyDiff] = useState(false);
  const rows = diffRows(picked);
  // Each version's run config beside its metadata: the settings that made it.
  const configRows = diffRows(picked.map((v) => ({ metadata: v.run?.config ?? {} })));
  const anyRun = picked.some((v) => v.run);
  const all = [...rows, ...configRows];
  const differing = all.filter((r) => r.differs).length;
  return html`<div>
    <div class="rw-toolbar">
      <label class="rw-check"><input type="checkbox" checked=${onlyDiff}
        onChange=${(/** @type {any} */ e) => setOnlyDiff(e.currentTarget.checked)} /> Only differences</label>
      <span class="rw-muted">${differing} of ${countOf(all.length, "key")} differ</span>
    </div>
    ${
      rows.length === 0 && !anyRun
        ? html`<p class="rw-muted">These versions have no metadata.</p>`
        : html`<div class="rw-table-wrap"><table class="rw-table rw-compare-table">
      <thead><tr><th>Metadata</th>${picked.map(
        (v) => html`<th key=${v.version} class="rw-compare-col">
          <${Link} route=${v.path}>${v.version}<//> <${Aliases} aliases=${v.aliases} /></th>`,
      )}</tr></thead>
      <${DiffBody} rows=${rows} onlyDiff=${onlyDiff} />
      ${
        anyRun
          ? html`<tbody class="rw-compare-run">
            <tr class="rw-compare-group"><th scope="row">Run config</th>${picked.map(
              (v) =>
                html`<td key=${v.version} data-run=${v.run?.id ?? ""}>${
                  v.run
                    ? html`<${Link} route=${runRoute(v.run.id)}>${v.run.name} #${v.run.id}<//>`
                    : html`<span class="rw-muted">no run</span>`
                }</td>`,
            )}</tr></tbody>
            <${DiffBody} rows=${configRows} onlyDiff=${onlyDiff} prefix="config." />`
          : null
      }
      </table></div>`
    }
  </div>`;
}

/** @param {{rows: {key: string, values: any[], differs: boolean}[], onlyDiff: boolean,
 *   prefix?: string}} props */
function DiffBody({ rows, onlyDiff, prefix = "" }) {
  const shown = onlyDiff ? rows.filter((r) => r.differs) : rows;
  return html`<tbody>${shown.map(
    (r) => html`<tr key=${r.key} class=${r.differs ? "rw-diff" : ""} data-key=${prefix + r.key}
          data-differs=${r.differs ? "true" : "false"}>
          <th scope="row" class="rw-mono">${prefix}${r.key}</th>
          ${r.values.map((value, i) => {
            const d = i === 0 ? "" : delta(value, r.values[0]);
            return html`<td key=${i} class="rw-compare-value">
              ${value === undefined ? html`<span class="rw-muted">absent</span>` : formatValue(value)}
              ${d ? html` <span class="rw-delta">${d}</span>` : null}</td>`;
          })}
        </tr>`,
  )}</tbody>`;
}

/** @param {{path: string}} props */
export function ComparePage({ path }) {
  const { data, error, loading } = useRequest("compare.get", { path });
  const [chosen, setChosen] = useState(/** @type {string[] | null} */ (null));
  const [allCharts, setAllCharts] = useState(false);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Spinner} label="Loading versions…" />`;
  /** @type {any[]} */
  const versions = data.versions;
  const known = new Set(versions.map((v) => v.version));
  const selectedList = (chosen ?? defaultSelection(versions)).filter((v) => known.has(v));
  const selected = new Set(selectedList);
  /** @param {string} version */
  const toggle = (version) =>
    setChosen(
      selected.has(version)
        ? selectedList.filter((v) => v !== version)
        : [...selectedList, version],
    );
  const picked = versions.filter((v) => selected.has(v.version));
  const keys = numericKeys(versions);
  const charted = allCharts ? keys : keys.slice(0, CHARTS);
  return html`<div class="rw-page rw-compare">
    <${PageHead} title=${`Compare versions of ${data.path}`} loading=${loading} />
    ${
      data.shown < data.total
        ? html`<p class="rw-muted">Showing the newest ${data.shown} of ${data.total} versions.</p>`
        : null
    }
    ${
      versions.length < 2
        ? html`<p class="rw-muted">Comparing needs at least two versions; this collection has${" "}
          ${versions.length}. <${Link} route=${data.path}>Back to ${data.path}<//></p>`
        : html`
      <h3 class="rw-section">Versions</h3>
      <div class="rw-version-picks" role="group" aria-label="Versions to compare">
        ${versions.map(
          (
            v,
          ) => html`<label key=${v.version} class=${`rw-pick-chip ${selected.has(v.version) ? "rw-picked" : ""}`}>
            <input type="checkbox" checked=${selected.has(v.version)} aria-label=${`Compare ${v.version}`}
              onChange=${() => toggle(v.version)} />
            ${v.version} <${Aliases} aliases=${v.aliases} /></label>`,
        )}
      </div>
      <h3 class="rw-section">Side by side</h3>
      ${
        picked.length < 2
          ? html`<p class="rw-muted">Select two or more versions to see their metadata side by side.</p>`
          : html`<${SideBySide} picked=${picked} />`
      }
      <h3 class="rw-section">Metrics across versions</h3>
      ${
        keys.length === 0
          ? html`<p class="rw-muted">No numeric metadata to chart.</p>`
          : html`<p class="rw-muted">Click a point to add or remove that version from the comparison.
            Aliases are written above the version that holds them.</p>
          <div class="rw-charts">${charted.map(
            (k) => html`<${MetricChart} key=${k} name=${k} versions=${versions} selected=${selected}
              onToggle=${toggle} />`,
          )}</div>
          ${
            keys.length > CHARTS
              ? html`<button class="rw-btn rw-btn-small" onClick=${() => setAllCharts(!allCharts)}>
                ${allCharts ? `Show the first ${CHARTS} metrics` : `Show all ${keys.length} metrics`}</button>`
              : null
          }`
      }`
    }
  </div>`;
}
