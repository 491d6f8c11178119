// Runs: every experiment with its config and final values, sortable and filtered; and one
// run's page with its state, who ran it and how long, what it used and what it produced.
import { useState } from "preact/hooks";
import { countOf, formatAgo, formatDate, formatDuration, formatValue } from "../format.js";
import { html } from "../html.js";
import { runRoute } from "../tool-routes.js";
import { Chip, ErrorBox, Link, Pager, Spinner, useRequest } from "./common.js";
import { FilterBox } from "./filter-box.js";

const PAGE = 25;

/** @param {{state: string}} props */
export function RunState({ state }) {
  return html`<span class=${`rw-run-state rw-run-${state}`} data-state=${state}>${state}</span>`;
}

/** @param {{sort: {key: string, order: string}, name: string, label: string, num?: boolean,
 *   onSort: (key: string) => void}} props */
function SortHeader({ sort, name, label, num = false, onSort }) {
  const on = sort.key === name;
  return html`<th class=${num ? "rw-num" : ""}
    aria-sort=${on ? (sort.order === "desc" ? "descending" : "ascending") : "none"}>
    <button type="button" class="rw-sort" title=${`Sort by ${name}`} data-sort=${name}
      onClick=${() => onSort(name)}>${label}${on ? (sort.order === "desc" ? " ▾" : " ▴") : ""}</button></th>`;
}

export function RunsPage() {
  const [query, setQuery] = useState("");
  const [offset, setOffset] = useState(0);
  const [sort, setSort] = useState({ key: "", order: "desc" });
  /** @param {string} q */
  function filterBy(q) {
    setQuery(q);
    setOffset(0);
  }
  const runs = useRequest("runs.list", {
    query,
    sort: sort.key,
    order: sort.order,
    offset,
    limit: PAGE,
  });
  /** @param {string} key */
  function sortBy(key) {
    setSort((s) =>
      s.key === key ? { key, order: s.order === "desc" ? "asc" : "desc" } : { key, order: "desc" },
    );
    setOffset(0);
  }
  const page = runs.data;
  /** @type {string[]} */
  const config = page?.config_columns ?? [];
  /** @type {string[]} */
  const summary = page?.summary_columns ?? [];
  return html`<div class="rw-page rw-runs-page">
    <div class="rw-page-head"><h2>Runs</h2>
      ${runs.loading ? html`<${Spinner} label="" />` : null}</div>
    <p class="rw-muted">Every run started with client.start_run, newest first: its settings
      (config), its final values (summary), and what it used and produced.</p>
    <${FilterBox} label="Filter runs" onQuery=${filterBy} error=${runs.error}
      placeholder="Filter: train  state:failed  by:ada  config.lr<0.01  summary.acc>0.9"
      help=${
        "A word matches the run's name or a tag; state:, name:, by:, tag: match exactly; " +
        "config.key<0.01, summary.key>0.9 compare values (a bare key>1 tries both); " +
        "or a JSON filter as client.runs(filter=...) takes it."
      }>
      ${
        page
          ? html`<span class="rw-muted" data-testid="run-count">${
              query ? `${page.total} of ${page.all} runs` : countOf(page.total, "run")
            }</span>`
          : null
      }
    <//>
    ${
      page && page.items.length === 0
        ? html`<p class="rw-muted">${query ? "No run matches the filter." : 'No runs yet: start one with client.start_run("train", config={...}).'}</p>`
        : null
    }
    ${
      page && page.items.length > 0
        ? html`<div class="rw-table-wrap"><table class="rw-table rw-runs">
          <thead><tr>
            <${SortHeader} sort=${sort} name="name" label="Run" onSort=${sortBy} />
            <${SortHeader} sort=${sort} name="state" label="State" onSort=${sortBy} />
            <${SortHeader} sort=${sort} name="created_at" label="Started" onSort=${sortBy} />
            <${SortHeader} sort=${sort} name="duration" label="Duration" num onSort=${sortBy} />
            ${config.map(
              (k) => html`<${SortHeader} key=${`c${k}`} sort=${sort} name=${`config.${k}`}
                label=${html`<span class="rw-muted">config.</span>${k}`} num onSort=${sortBy} />`,
            )}
            ${summary.map(
              (k) => html`<${SortHeader} key=${`s${k}`} sort=${sort} name=${`summary.${k}`}
                label=${html`<span class="rw-muted">summary.</span>${k}`} num onSort=${sortBy} />`,
            )}
          </tr></thead>
          <tbody>${page.items.map(
            (/** @type {any} */ r) => html`<tr key=${r.id} data-run=${r.id} data-name=${r.name}>
              <td class="rw-nowrap"><${Link} route=${runRoute(r.id)}>${r.name}<//>
                <span class="rw-muted rw-mono"> #${r.id}</span></td>
              <td><${RunState} state=${r.state} /></td>
              <td class="rw-nowrap" title=${formatDate(r.created_at)}>${formatAgo(r.created_at)}<br />
                <span class="rw-muted">${r.created_by}</span></td>
              <td class="rw-num rw-nowrap">${formatDuration(r.duration_s)}</td>
              ${config.map((k) => html`<td class="rw-num" data-key=${`config.${k}`}>${formatValue(r.config[k])}</td>`)}
              ${summary.map((k) => html`<td class="rw-num" data-key=${`summary.${k}`}>${formatValue(r.summary[k])}</td>`)}
            </tr>`,
          )}</tbody></table></div>`
        : null
    }
    ${page ? html`<${Pager} offset=${page.offset} limit=${page.limit} total=${page.total} onChange=${setOffset} jump />` : null}
  </div>`;
}

/** @param {{values: Record<string, any>, empty: string, label: string}} props */
function Values({ values, empty, label }) {
  const keys = Object.keys(values);
  if (keys.length === 0) return html`<p class="rw-muted">${empty}</p>`;
  return html`<table class="rw-table rw-run-values" aria-label=${label}><tbody>${keys.map(
    (k) => html`<tr key=${k} data-key=${k}><th scope="row" class="rw-mono">${k}</th>
      <td class="rw-mono">${formatValue(values[k])}</td></tr>`,
  )}</tbody></table>`;
}

/** @param {{items: any[], empty: string, label: string}} props */
function Versions({ items, empty, label }) {
  if (items.length === 0) return html`<p class="rw-muted">${empty}</p>`;
  return html`<ul class="rw-links rw-run-versions" aria-label=${label}>${items.map(
    (v) => html`<li key=${v.ref} data-ref=${v.ref}>
      ${
        v.paths.length
          ? html`<${Link} route=${v.paths[0]} title=${v.paths.join(", ")}>${v.ref}<//>`
          : html`<span class="rw-mono">${v.ref}</span>`
      } <${Chip} kind="rw-type">${v.type}<//>
      ${
        v.paths.length
          ? html`<span class="rw-muted"> linked as ${v.paths.join(", ")}</span>`
          : html`<span class="rw-muted"> not linked into a registry</span>`
      }</li>`,
  )}</ul>`;
}

/** @param {{label: string, children: any}} props */
function Fact({ label, children }) {
  return html`<tr><th scope="row">${label}</th><td>${children}</td></tr>`;
}

/** @param {{id: string}} props */
export function RunPage({ id }) {
  const { data, error, loading } = useRequest("run.get", { id });
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Spinner} label="Loading run…" />`;
  return html`<div class="rw-page rw-run-page">
    <div class="rw-page-head">
      <h2>${data.name} <span class="rw-muted rw-mono">#${data.id}</span></h2>
      <${RunState} state=${data.state} />
      ${loading ? html`<${Spinner} label="" />` : null}
    </div>
    ${
      data.error
        ? html`<div class="rw-error rw-run-error" role="status"><strong>It failed with:</strong>
          <pre class="rw-pre">${data.error}</pre></div>`
        : null
    }
    ${
      data.state === "crashed"
        ? html`<div class="rw-invalid rw-run-error" role="status">Crashed: its process stopped
          without ending it. Its last sign of life
          was ${formatDate(data.heartbeat_at)} (${formatAgo(data.heartbeat_at)}). What it
          recorded before is kept below.</div>`
        : null
    }
    <table class="rw-facts">
      <tbody>
        <${Fact} label="Started">${`${formatDate(data.created_at)} by ${data.created_by} (${formatAgo(data.created_at)})`}<//>
        <${Fact} label="Ended">${
          data.ended_at ? formatDate(data.ended_at) : html`<span class="rw-muted">not ended</span>`
        }<//>
        <${Fact} label="Duration">${formatDuration(data.duration_s)}<//>
        <${Fact} label="Tags">${
          data.tags.length
            ? data.tags.map((/** @type {string} */ t) => html`<${Chip}>${t}<//>`)
            : html`<span class="rw-muted">none</span>`
        }<//>
      </tbody>
    </table>
    <div class="rw-run-columns">
      <section><h3 class="rw-section">Inputs</h3>
        <${Versions} items=${data.inputs} label="Inputs" empty="It used no version you can see." /></section>
      <section><h3 class="rw-section">Outputs</h3>
        <${Versions} items=${data.outputs} label="Outputs" empty="It produced no version you can see." /></section>
    </div>
    <div class="rw-run-columns">
      <section><h3 class="rw-section">Config</h3>
        <${Values} values=${data.config} label="Config" empty="No config." /></section>
      <section><h3 class="rw-section">Summary</h3>
        <${Values} values=${data.summary} label="Summary" empty="No summary values." /></section>
    </div>
  </div>`;
}
