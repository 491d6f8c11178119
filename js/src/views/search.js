// Search results across everything the user may see.
import { html } from "../html.js";
import { Chip, ErrorBox, Link, Spinner, useRequest } from "./common.js";

const KIND_LABEL = /** @type {Record<string, string>} */ ({
  registry: "Registry",
  collection: "Collection",
  version: "Version",
});

/** @param {{query: string}} props */
export function SearchPage({ query }) {
  const { data, error, loading } = useRequest("search", { text: query, limit: 100 });
  const artifacts = useRequest("artifact.search", { text: query, limit: 50 });
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Spinner} label="Searching…" />`;
  return html`<div class="rw-page">
    <div class="rw-page-head"><h2>Search: “${query}”</h2>${loading ? html`<${Spinner} label="" />` : null}</div>
    ${
      data.hits.length === 0 && !artifacts.data?.items.length
        ? html`<p class="rw-muted">Nothing you may see matches “${query}”.</p>`
        : data.hits.length === 0
          ? null
          : html`<ul class="rw-results">
          ${data.hits.map(
            (h) => html`<li key=${`${h.kind}:${h.path}:${h.field}:${h.value}`}>
              <${Chip} kind="rw-badge">${KIND_LABEL[h.kind] ?? h.kind}<//>
              <${Link} route=${h.path}>${h.path}<//>
              <span class="rw-muted"> — ${h.field} “${h.value}”</span>
            </li>`,
          )}
        </ul>`
    }
    ${data.more ? html`<p class="rw-muted">Showing the first ${data.hits.length} matches; refine the search.</p>` : null}
    ${
      artifacts.data?.items.length
        ? html`<h3 class="rw-section">Artifact versions</h3>
          <ul class="rw-results rw-artifact-results">
          ${artifacts.data.items.map(
            (/** @type {any} */ a) => html`<li key=${a.ref} data-ref=${a.ref}>
              <${Chip} kind="rw-badge">Artifact<//>
              <span class="rw-mono rw-id">${a.ref}</span> <${Chip} kind="rw-type">${a.type}<//>
              <span class="rw-muted"> — ${a.links.length ? "linked as " : "not linked anywhere you can see"}</span>
              ${a.links.map((/** @type {string} */ p) => html` <${Link} route=${p}>${p}<//>`)}
            </li>`,
          )}</ul>
          ${artifacts.data.more ? html`<p class="rw-muted">Showing the first ${artifacts.data.items.length}; refine the search.</p>` : null}`
        : null
    }
  </div>`;
}
