// "Link a version": pick a logged artifact version (search by name), add optional aliases.
import { useEffect, useState } from "preact/hooks";
import { formatAgo, formatBytes, formatValue, splitList } from "../format.js";
import { html } from "../html.js";
import { Chip, Dialog, ErrorBox, Form, Spinner, useAction, useApp, useRequest } from "./common.js";
import { TextField, useValidation } from "./fields.js";

/** @param {{collection: any, onClose: () => void}} props */
export function LinkDialog({ collection, onClose }) {
  const { invoke, notify } = useApp();
  const [typed, setTyped] = useState("");
  const [query, setQuery] = useState("");
  const [allTypes, setAllTypes] = useState(false);
  const [picked, setPicked] = useState(/** @type {string | null} */ (null));
  const [aliases, setAliases] = useState("");
  const aliasMsg = useValidation("aliases", aliases, { skipEmpty: true });
  const action = useAction();
  useEffect(() => {
    const t = setTimeout(() => setQuery(typed), 200);
    return () => clearTimeout(t);
  }, [typed]);
  const candidates = useRequest("artifact.pick", {
    collection: collection.path,
    type: allTypes ? null : collection.type,
    query: query.trim(),
    limit: 20,
  });

  async function submit() {
    if (!picked) return;
    const link = await action.run(() =>
      invoke("link.create", {
        artifact: picked,
        collection: collection.path,
        aliases: splitList(aliases),
      }),
    );
    if (link) {
      onClose();
      notify(`Linked ${picked} as ${link.version}.`);
    }
  }

  const items = candidates.data?.items ?? [];
  return html`<${Dialog} title=${`Link a version into ${collection.path}`} onClose=${onClose}>
    <${Form} class="rw-form rw-form-flat" onSubmit=${submit} onCancel=${onClose} label="Link a version">
      <div class="rw-toolbar">
        <input class="rw-filter" type="search" aria-label="Search logged artifacts by name"
          placeholder="Name, v3 or name:v3"
          value=${typed} onInput=${(/** @type {any} */ e) => setTyped(e.currentTarget.value)} />
        <label class="rw-check"><input type="checkbox" checked=${allTypes}
          onChange=${(/** @type {any} */ e) => setAllTypes(e.currentTarget.checked)} /> other types too</label>
        ${candidates.loading ? html`<${Spinner} label="" />` : null}
      </div>
      <${ErrorBox} error=${candidates.error} />
      <div class="rw-pick-list" role="listbox" aria-label="Artifact versions">
        ${
          items.length === 0 && !candidates.loading
            ? html`<p class="rw-muted">${
                !candidates.data?.any
                  ? "Nothing is logged yet: log an artifact version from a notebook, then link it here."
                  : query.trim()
                    ? `No ${allTypes ? "" : `“${collection.type}” `}artifact version matches “${query.trim()}”. Try part of its name, v3 or name:v3${allTypes ? "" : ", or other types too"}.`
                    : `No logged “${collection.type}” artifact versions. Tick “other types too” to see the others.`
              }</p>`
            : items.map(
                (/** @type {any} */ a) => html`<label key=${a.ref}
              class=${`rw-pick ${picked === a.ref ? "rw-picked" : ""}`} data-ref=${a.ref}>
              <input type="radio" name="artifact" value=${a.ref} checked=${picked === a.ref}
                onChange=${() => setPicked(a.ref)} />
              <span class="rw-pick-ref">${a.ref}</span>
              <${Chip} kind="rw-type">${a.type}<//>
              ${
                a.linked.length
                  ? html`<${Chip} kind="rw-linked" title="Already in this collection">linked as ${a.linked.join(", ")}<//>`
                  : null
              }
              <span class="rw-pick-metrics">${Object.entries(a.metrics).map(
                ([k, v]) =>
                  html`<span class="rw-metric"><span class="rw-muted">${k}</span> ${formatValue(v)}</span>`,
              )}</span>
              <span class="rw-muted rw-nowrap">${formatBytes(a.size)} · ${a.created_by} · ${formatAgo(a.created_at)}</span>
            </label>`,
              )
        }
        ${
          candidates.data && candidates.data.total > items.length
            ? html`<p class="rw-muted">Showing ${items.length} of ${candidates.data.total}; type to narrow.</p>`
            : null
        }
      </div>
      <${TextField} label="Aliases (optional, comma-separated)" name="aliases" value=${aliases}
        onInput=${setAliases} message=${aliasMsg} placeholder="e.g. staging" />
      <${ErrorBox} error=${action.error} />
      <div class="rw-actions">
        <button type="submit" class="rw-btn rw-btn-primary"
          disabled=${!picked || Boolean(aliasMsg) || action.busy}>Link</button>
        <button type="button" class="rw-btn" onClick=${onClose}>Cancel</button>
        ${action.busy ? html`<${Spinner} label="Linking…" />` : null}
      </div>
    <//>
  <//>`;
}
