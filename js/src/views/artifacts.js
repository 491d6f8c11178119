// Every logged artifact version, linked or not: by name and type, with metrics, where each
// is linked, and a way to link one into a collection from here.
import { useEffect, useState } from "preact/hooks";
import { countOf, formatAgo, formatBytes, formatValue, splitList } from "../format.js";
import { html } from "../html.js";
import {
  Chip,
  Dialog,
  ErrorBox,
  Form,
  Link,
  PageHead,
  Pager,
  Spinner,
  useAction,
  useApp,
  useRequest,
} from "./common.js";
import { TextField, useValidation } from "./fields.js";

const PAGE = 25;

/** @param {{art: any, onClose: () => void}} props */
function LinkToDialog({ art, onClose }) {
  const { invoke, navigate, notify } = useApp();
  const [target, setTarget] = useState("");
  const [aliases, setAliases] = useState("");
  const aliasMsg = useValidation("aliases", aliases, { skipEmpty: true });
  const action = useAction();
  async function submit() {
    const link = await action.run(() =>
      invoke("link.create", {
        artifact: art.ref,
        collection: target.trim(),
        aliases: splitList(aliases),
      }),
    );
    if (link) {
      onClose();
      notify(`Linked ${art.ref} as ${link.path}.`);
      navigate(link.path);
    }
  }
  return html`<${Dialog} title=${`Link ${art.ref}`} onClose=${onClose}>
    <${Form} class="rw-form rw-form-flat" label="Link into a collection" onSubmit=${submit}
      onCancel=${onClose}>
      <${TextField} label="Collection (Registry/Collection; created if missing)" name="target"
        value=${target} onInput=${setTarget} placeholder="e.g. Models/cat-resnet" />
      <${TextField} label="Aliases (optional, comma-separated)" name="link-aliases"
        value=${aliases} onInput=${setAliases} message=${aliasMsg} placeholder="e.g. staging" />
      <${ErrorBox} error=${action.error} />
      <div class="rw-actions">
        <button type="submit" class="rw-btn rw-btn-primary"
          disabled=${!target.includes("/") || Boolean(aliasMsg) || action.busy}>Link</button>
        <button type="button" class="rw-btn" onClick=${onClose}>Cancel</button>
        ${action.busy ? html`<${Spinner} label="Linking…" />` : null}
      </div>
    <//>
  <//>`;
}

export function ArtifactsPage() {
  const [typed, setTyped] = useState("");
  const [query, setQuery] = useState("");
  const [type, setType] = useState("");
  const [offset, setOffset] = useState(0);
  const [linking, setLinking] = useState(/** @type {any} */ (null));
  useEffect(() => {
    const t = setTimeout(() => {
      setQuery(typed.trim());
      setOffset(0);
    }, 250);
    return () => clearTimeout(t);
  }, [typed]);
  const { data, error, loading } = useRequest("artifacts.list", {
    query,
    type: type || null,
    offset,
    limit: PAGE,
  });
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Spinner} label="Loading artifact versions…" />`;
  return html`<div class="rw-page">
    <${PageHead} title="Artifact versions" loading=${loading} />
    <p class="rw-muted">Everything logged with client.log_artifact, newest first — also what is
      not linked into any collection yet.</p>
    <div class="rw-toolbar">
      <input class="rw-filter" type="search" aria-label="Filter artifact versions by name"
        placeholder="Filter by name" value=${typed}
        onInput=${(/** @type {any} */ e) => setTyped(e.currentTarget.value)} />
      <select aria-label="Type" value=${type}
        onChange=${(/** @type {any} */ e) => {
          setType(e.currentTarget.value);
          setOffset(0);
        }}>
        <option value="">all types</option>
        ${data.types.map((/** @type {string} */ t) => html`<option value=${t}>${t}</option>`)}
      </select>
      <span class="rw-muted">${countOf(data.total, "artifact version")}</span>
    </div>
    ${
      data.items.length === 0
        ? html`<p class="rw-muted">No artifact version matches.</p>`
        : html`<div class="rw-table-wrap"><table class="rw-table rw-artifacts">
          <thead><tr><th>Artifact version</th><th>Type</th><th>Metrics</th><th>Logged</th>
            <th>Linked in</th></tr></thead>
          <tbody>${data.items.map(
            (/** @type {any} */ a) => html`<tr key=${a.ref} data-ref=${a.ref}>
              <td><span class="rw-mono rw-id">${a.ref}</span>
                <span class="rw-muted rw-nowrap"> ${formatBytes(a.size)}</span></td>
              <td><${Chip} kind="rw-type">${a.type}<//></td>
              <td class="rw-pick-metrics">${Object.entries(a.metrics).map(
                ([k, v]) =>
                  html`<span class="rw-metric"><span class="rw-muted">${k}</span> ${formatValue(v)}</span>`,
              )}</td>
              <td class="rw-nowrap">${formatAgo(a.created_at)}<br /><span class="rw-muted">${a.created_by}</span></td>
              <td>${
                a.links.length
                  ? a.links.map(
                      (/** @type {string} */ p) => html`<div><${Link} route=${p}>${p}<//></div>`,
                    )
                  : html`<span class="rw-muted">not linked</span>`
              }${
                data.can.link
                  ? html`<div><button class="rw-btn rw-btn-small rw-btn-plain"
                      aria-label=${`Link ${a.ref}`} onClick=${() => setLinking(a)}>Link…</button></div>`
                  : null
              }</td>
            </tr>`,
          )}</tbody></table></div>`
    }
    <${Pager} offset=${data.offset} limit=${data.limit} total=${data.total} onChange=${setOffset} />
    ${linking ? html`<${LinkToDialog} art=${linking} onClose=${() => setLinking(null)} />` : null}
  </div>`;
}
