// A collection: Markdown description, tags, the versions table (paged), linking and aliases.
import { useState } from "preact/hooks";
import { formatAgo, formatDate, formatValue, usageSnippet } from "../format.js";
import { html } from "../html.js";
import { renderMarkdown } from "../markdown.js";
import { atLeast } from "../roles.js";
import { compareRoute, historyRoute } from "../tool-routes.js";
import { CollectionTools, UnlinkCell } from "./collection-tools.js";
import {
  Chip,
  ErrorBox,
  Link,
  LockIcon,
  Pager,
  Snippet,
  Spinner,
  useAction,
  useApp,
  useRequest,
} from "./common.js";
import { LinkDialog } from "./link-dialog.js";

const PAGE = 25;

/** @param {{row: any, role: string}} props */
function AliasCell({ row, role }) {
  const { invoke } = useApp();
  const [adding, setAdding] = useState(false);
  const [alias, setAlias] = useState("");
  const action = useAction();

  async function add(/** @type {Event} */ e) {
    e.preventDefault();
    const done = await action.run(() =>
      invoke("alias.set", { path: row.path, alias: alias.trim() }),
    );
    if (done) {
      setAdding(false);
      setAlias("");
    }
  }

  return html`<div class="rw-alias-cell">
    ${row.aliases.map(
      (a) => html`<${Chip} kind=${`rw-alias ${a.protected ? "rw-protected" : ""}`}
        title=${a.protected ? "Protected alias: only registry admins may move or remove it" : undefined}>
        ${a.protected ? html`<${LockIcon} />` : null}${a.name}
        ${
          a.name === "latest" || !atLeast(role, a.protected ? "admin" : "member")
            ? null
            : html`<button class="rw-chip-x" aria-label=${`Remove alias ${a.name}`}
          title="Remove alias" disabled=${action.busy}
          onClick=${() => action.run(() => invoke("alias.remove", { path: row.path, alias: a.name }))}>×</button>`
        }
      <//>`,
    )}
    ${
      !atLeast(role, "member")
        ? null
        : adding
          ? html`<form class="rw-inline-form" onSubmit=${add}>
          <input type="text" aria-label="New alias" placeholder="alias" value=${alias} autofocus
            onInput=${(/** @type {any} */ e) => setAlias(e.currentTarget.value)} />
          <button type="submit" class="rw-btn rw-btn-small" disabled=${!alias.trim() || action.busy}>Set</button>
          <button type="button" class="rw-btn rw-btn-small rw-btn-plain"
            onClick=${() => {
              setAdding(false);
              action.clear();
            }}>Cancel</button>
        </form>`
          : html`<button class="rw-btn rw-btn-small rw-btn-plain" title="Set or move an alias to this version"
          onClick=${() => setAdding(true)}>+ alias</button>`
    }
    ${action.busy ? html`<${Spinner} label="" />` : null}
    <${ErrorBox} error=${action.error} />
  </div>`;
}

/** @param {{path: string}} props */
export function CollectionPage({ path }) {
  const [offset, setOffset] = useState(0);
  const [linking, setLinking] = useState(false);
  const info = useRequest("collection.get", { path });
  const versions = useRequest("collection.versions", { path, offset, limit: PAGE });
  if (info.error) return html`<${ErrorBox} error=${info.error} />`;
  if (!info.data) return html`<${Spinner} label="Loading collection…" />`;
  const coll = info.data;
  const page = versions.data;
  const keys = page?.metadata_keys ?? [];
  return html`<div class="rw-page">
    <div class="rw-page-head">
      <h2>${coll.name}</h2>
      <${Chip} kind="rw-type">${coll.type}<//>
      ${info.loading || versions.loading ? html`<${Spinner} label="" />` : null}
      <span class="rw-head-tools">
        <${Link} route=${historyRoute(coll.path)}>History<//>
        ${coll.count >= 2 ? html`<${Link} route=${compareRoute(coll.path)}>Compare versions<//>` : null}
      </span>
      ${
        atLeast(coll.role, "member")
          ? html`<button class="rw-btn rw-btn-primary" onClick=${() => setLinking(true)}>Link a version</button>`
          : null
      }
    </div>
    <div class="rw-meta-line">${coll.tags.map((t) => html`<${Chip}>${t}<//>`)}
      <span class="rw-muted">${coll.count} version${coll.count === 1 ? "" : "s"} · created by${" "}
        ${coll.created_by} ${formatAgo(coll.created_at)} · your role: ${coll.role}</span></div>
    ${
      coll.description
        ? html`<div class="rw-markdown" dangerouslySetInnerHTML=${{ __html: renderMarkdown(coll.description) }}></div>`
        : html`<p class="rw-muted">No description.</p>`
    }
    <${CollectionTools} coll=${coll} />
    ${linking ? html`<${LinkDialog} collection=${coll} onClose=${() => setLinking(false)} />` : null}
    <${ErrorBox} error=${versions.error} />
    ${page && page.items.length === 0 ? html`<p class="rw-muted">No versions linked yet.</p>` : null}
    ${
      page && page.items.length > 0
        ? html`<div class="rw-table-wrap"><table class="rw-table rw-versions">
          <thead><tr><th>Version</th><th>Aliases</th><th>Artifact</th><th>Tags</th><th>Created</th>
            ${keys.map((k) => html`<th class="rw-num" title=${`metadata.${k}`}>${k}</th>`)}
            ${atLeast(coll.role, "member") ? html`<th></th>` : null}</tr></thead>
          <tbody>${page.items.map(
            (row) => html`<tr key=${row.path} data-version=${row.version}>
            <td><${Link} route=${row.path}>${row.version}<//></td>
            <td><${AliasCell} row=${row} role=${coll.role} /></td>
            <td class="rw-mono">${row.artifact}</td>
            <td>${row.tags.map((t) => html`<${Chip}>${t}<//>`)}</td>
            <td title=${formatDate(row.created_at)}>${formatAgo(row.created_at)}<br />
              <span class="rw-muted">${row.created_by}</span></td>
            ${keys.map((k) => html`<td class="rw-num">${formatValue(row.metadata[k])}</td>`)}
            ${atLeast(coll.role, "member") ? html`<td><${UnlinkCell} row=${row} /></td>` : null}
          </tr>`,
          )}</tbody></table></div>`
        : null
    }
    ${page ? html`<${Pager} offset=${page.offset} limit=${page.limit} total=${page.total} onChange=${setOffset} />` : null}
    <h3 class="rw-section">Use it from a notebook</h3>
    <${Snippet} code=${usageSnippet(`${coll.path}:latest`)} />
  </div>`;
}
