// A collection: Markdown description, tags, the versions table (paged), linking and aliases.
import { useRef, useState } from "preact/hooks";
import { countOf, formatAgo, formatDate, formatValue, usageSnippet } from "../format.js";
import { html } from "../html.js";
import { keepFocusIn } from "../keyboard.js";
import { compareRoute, historyRoute } from "../tool-routes.js";
import { CollectionDescription, DeleteCollection } from "./collection-tools.js";
import {
  Chip,
  ErrorBox,
  Form,
  Link,
  LockIcon,
  PageHead,
  Pager,
  Snippet,
  Spinner,
  useAction,
  useApp,
  useInline,
  useRequest,
} from "./common.js";
import { FilterBox } from "./filter-box.js";
import { LinkDialog } from "./link-dialog.js";
import { WideTable } from "./wide-table.js";

const PAGE = 25;

/**
 * The aliases of a version, each removable where the user may (the kernel says which), and
 * "+ alias" to set or move one here.
 *
 * @param {{row: any}} props
 */
export function AliasCell({ row }) {
  const { invoke, notify } = useApp();
  const [adding, openAdd, closeAdd] = useInline(`alias:${row.path}`);
  const [alias, setAlias] = useState("");
  const action = useAction();
  const removable = new Set(row.can?.remove_alias ?? []);
  const cell = useRef(/** @type {HTMLDivElement | null} */ (null));

  async function add() {
    const name = alias.trim();
    const done = await action.run(() => invoke("alias.set", { path: row.path, alias: name }));
    if (done) {
      closeAdd();
      setAlias("");
      notify(`Alias “${name}” is now on ${row.version}.`);
    }
  }
  function cancel() {
    closeAdd();
    action.clear();
  }
  /** @param {string} name */
  async function remove(name) {
    // Where the focus goes back to once the chip is gone: this row's aliases, which the
    // kernel's answer may draw anew.
    const root = cell.current?.closest(".rw-app") ?? null;
    const selector = `.rw-alias-cell[data-path="${CSS.escape(row.path)}"]`;
    const done = await action.run(() => invoke("alias.remove", { path: row.path, alias: name }));
    if (done) {
      notify(`Alias “${name}” removed from ${row.version}.`);
      keepFocusIn(root, () => root?.querySelector(selector) ?? null);
    }
  }

  return html`<div class="rw-alias-cell" data-path=${row.path} ref=${cell}>
    ${row.aliases.map(
      (
        /** @type {any} */ a,
      ) => html`<${Chip} kind=${`rw-alias ${a.protected ? "rw-protected" : ""}`}
        title=${a.protected ? "Protected alias: only registry admins may move or remove it" : undefined}>
        ${a.protected ? html`<${LockIcon} />` : null}${a.name}
        ${
          removable.has(a.name)
            ? html`<button class="rw-chip-x" aria-label=${`Remove alias ${a.name}`}
          title="Remove alias" disabled=${action.busy}
          onClick=${() => remove(a.name)}>×</button>`
            : null
        }
      <//>`,
    )}
    ${
      !row.can?.set_alias
        ? null
        : adding
          ? html`<${Form} class="rw-inline-form" onSubmit=${add} onCancel=${cancel} autoFocus
            label=${`Set an alias on ${row.version}`}>
          <input type="text" aria-label="New alias" placeholder="alias" value=${alias}
            onInput=${(/** @type {any} */ e) => setAlias(e.currentTarget.value)} />
          <button type="submit" class="rw-btn rw-btn-small" disabled=${!alias.trim() || action.busy}>Set</button>
          <button type="button" class="rw-btn rw-btn-small rw-btn-plain" onClick=${cancel}>Cancel</button>
        <//>`
          : html`<button class="rw-btn rw-btn-small rw-btn-plain" title="Set or move an alias to this version"
          onClick=${openAdd}>+ alias</button>`
    }
    ${action.busy ? html`<${Spinner} label="" />` : null}
    <${ErrorBox} error=${action.error} />
  </div>`;
}

/**
 * The alias to show in the usage snippet: a protected one (the team's promise, such as
 * production) before any other, and `latest` only when there is nothing else.
 *
 * @param {{name: string, protected: boolean}[]} aliases
 */
export function preferredAlias(aliases) {
  const named = aliases.filter((a) => a.name !== "latest");
  return (named.find((a) => a.protected) ?? named[0] ?? aliases[0])?.name ?? null;
}

/** @param {{coll: any}} props */
function UseSnippet({ coll }) {
  const [chosen, setChosen] = useState(/** @type {string | null} */ (null));
  const aliases = coll.aliases;
  const alias = chosen ?? preferredAlias(aliases);
  if (alias === null) {
    return html`<p class="rw-muted">Nothing to use yet: link a version first.
      Then <code>client.use(${`"${coll.path}:latest"`})</code> fetches the newest one.</p>`;
  }
  return html`<div>
    <${Snippet} code=${usageSnippet(`${coll.path}:${alias}`)} />
    ${
      aliases.length > 1
        ? html`<div class="rw-meta-line rw-snippet-choices"><span class="rw-muted">Use another alias:</span>
          ${aliases.map(
            (/** @type {any} */ a) => html`<button type="button"
              class=${`rw-btn rw-btn-small rw-btn-plain ${a.name === alias ? "rw-current" : ""}`}
              aria-pressed=${a.name === alias ? "true" : "false"}
              onClick=${() => setChosen(a.name)}>${a.name}</button>`,
          )}</div>`
        : null
    }
  </div>`;
}

/** @param {{path: string}} props */
export function CollectionPage({ path }) {
  const [offset, setOffset] = useState(0);
  const [linking, setLinking] = useState(false);
  const [query, setQuery] = useState("");
  const [sort, setSort] = useState({ key: "", order: "desc" });
  /** @param {string} q */
  function filterBy(q) {
    setQuery(q);
    setOffset(0);
  }
  const info = useRequest("collection.get", { path });
  const versions = useRequest("collection.find", {
    path,
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
  if (info.error) return html`<${ErrorBox} error=${info.error} />`;
  if (!info.data) return html`<${Spinner} label="Loading collection…" />`;
  const coll = info.data;
  const can = coll.can ?? {};
  const page = versions.data;
  const keys = page?.metadata_keys ?? [];
  return html`<div class="rw-page">
    <${PageHead}
      title=${coll.name}
      loading=${info.loading || versions.loading}
      tools=${html`<${Link} route=${historyRoute(coll.path)}>History<//>
        ${coll.count >= 2 ? html`<${Link} route=${compareRoute(coll.path)}>Compare versions<//>` : null}`}
      action=${
        can.link
          ? html`<button class="rw-btn rw-btn-primary" onClick=${() => setLinking(true)}>Link a version</button>`
          : null
      }>
      <${Chip} kind="rw-type">${coll.type}<//>
    <//>
    <div class="rw-meta-line">${coll.tags.map((/** @type {string} */ t) => html`<${Chip}>${t}<//>`)}
      <span class="rw-muted">${countOf(coll.count, "version")} · created by${" "}
        ${coll.created_by} ${formatAgo(coll.created_at)} · your role: ${coll.role}</span></div>
    ${
      coll.aliases.length
        ? html`<div class="rw-meta-line rw-alias-summary" aria-label="Aliases">
          <span class="rw-muted">Aliases:</span>
          ${coll.aliases.map(
            (/** @type {any} */ a) => html`<${Link} route=${`${coll.path}:${a.version}`}
              title=${`${a.name} is on ${a.version}`}>
              <${Chip} kind=${`rw-alias ${a.protected ? "rw-protected" : ""}`}>
                ${a.protected ? html`<${LockIcon} />` : null}${a.name} → ${a.version}<//><//>`,
          )}</div>`
        : null
    }
    <${CollectionDescription} coll=${coll} />
    ${linking ? html`<${LinkDialog} collection=${coll} onClose=${() => setLinking(false)} />` : null}
    <${FilterBox} label="Filter versions" onQuery=${filterBy} error=${versions.error}
      placeholder="Filter: resnet  tag:nightly  alias:production  acc>0.9"
      help=${
        "A word matches the artifact name, a tag or an alias; tag:, alias:, type:, by: " +
        "match exactly; key>0.9, key<=20, key=value compare metadata; or a JSON filter " +
        "as collection.versions(filter=...) takes it."
      }>
      ${
        page
          ? html`<span class="rw-muted" data-testid="version-count">${
              query ? `${page.total} of ${page.all} versions` : countOf(page.total, "version")
            }${sort.key ? ` · by ${sort.key}, ${sort.order === "desc" ? "highest" : "lowest"} first` : ""}</span>`
          : null
      }
    <//>
    ${
      page && page.items.length === 0
        ? html`<p class="rw-muted">${query ? "No version matches the filter." : "No versions linked yet."}</p>`
        : null
    }
    ${
      page && page.items.length > 0
        ? html`<${WideTable} label="Versions"><table class="rw-table rw-versions">
          <thead><tr><th>Version</th><th>Aliases</th><th>Tags</th><th>Linked</th>
            ${keys.map(
              (/** @type {string} */ k) => html`<th class="rw-num" data-column=${k}
                aria-sort=${sort.key === k ? (sort.order === "desc" ? "descending" : "ascending") : "none"}>
                <button type="button" class="rw-sort" title=${`Sort by metadata.${k}`}
                  onClick=${() => sortBy(k)}>${k}${sort.key === k ? (sort.order === "desc" ? " ▾" : " ▴") : ""}</button></th>`,
            )}
            </tr></thead>
          <tbody>${page.items.map(
            (/** @type {any} */ row) => html`<tr key=${row.path} data-version=${row.version}>
            <td class="rw-version-cell"><${Link} route=${row.path}>${row.version}<//>
              <span class="rw-muted rw-mono rw-id" title="The logged artifact version">${row.artifact}</span></td>
            <td><${AliasCell} row=${row} /></td>
            <td>${row.tags.map((/** @type {string} */ t) => html`<${Chip}>${t}<//>`)}</td>
            <td title=${formatDate(row.created_at)} class="rw-nowrap">${formatAgo(row.created_at)}<br />
              <span class="rw-muted">${row.created_by}</span></td>
            ${keys.map((/** @type {string} */ k) => html`<td class="rw-num">${formatValue(row.metadata[k])}</td>`)}
          </tr>`,
          )}</tbody></table><//>`
        : null
    }
    ${page ? html`<${Pager} offset=${page.offset} limit=${page.limit} total=${page.total} onChange=${setOffset} jump />` : null}
    <h3 class="rw-section">Use it from a notebook</h3>
    <${UseSnippet} coll=${coll} />
    <${DeleteCollection} coll=${coll} />
  </div>`;
}
