// A registry: its collections, a filter box, "Create collection" and a usage snippet.
import { useEffect, useState } from "preact/hooks";
import { countOf, formatAgo, formatDate, splitList, usageSnippet } from "../format.js";
import { html } from "../html.js";
import { historyRoute, settingsRoute } from "../tool-routes.js";
import {
  Chip,
  ErrorBox,
  Form,
  Link,
  Markdown,
  PageHead,
  Pager,
  Snippet,
  Spinner,
  useAction,
  useApp,
  useInline,
  useRequest,
} from "./common.js";
import { TextField, useNameFree, useValidation } from "./fields.js";

const PAGE = 50;

/** @param {{registry: any, onDone: () => void}} props */
function CreateCollectionForm({ registry, onDone }) {
  const { invoke, navigate } = useApp();
  const types = registry.artifact_types;
  const [name, setName] = useState("");
  const [type, setType] = useState(types?.[0] ?? "");
  const [description, setDescription] = useState("");
  const [tags, setTags] = useState("");
  const formatMsg = useValidation("collection_name", name, { skipEmpty: true });
  const takenMsg = useNameFree(name, registry.name);
  const nameMsg = formatMsg || takenMsg;
  const typeMsg = useValidation("artifact_type", type, { skipEmpty: true });
  const tagsMsg = useValidation("tags", tags, { skipEmpty: true });
  const action = useAction();
  const blocked = !name.trim() || !type.trim() || Boolean(nameMsg || typeMsg || tagsMsg);

  async function submit(/** @type {Event} */ e) {
    e.preventDefault();
    const coll = await action.run(() =>
      invoke("collection.create", {
        registry: registry.name,
        name,
        type,
        description,
        tags: splitList(tags),
      }),
    );
    if (coll) {
      onDone();
      navigate(coll.path);
    }
  }

  return html`<${Form} onSubmit=${submit} onCancel=${onDone} autoFocus label="Create collection">
    <${TextField} label="Name" name="name" value=${name} onInput=${setName} message=${nameMsg}
      placeholder="e.g. cat-resnet" />
    ${
      types === null
        ? html`<${TextField} label="Artifact type" name="type" value=${type} onInput=${setType}
          message=${typeMsg} placeholder="e.g. model" hint="Fixed once the collection exists." />`
        : html`<div class="rw-field"><label for="rw-f-type">Artifact type</label>
          <select id="rw-f-type" value=${type} onChange=${(/** @type {any} */ e) =>
            setType(e.currentTarget.value)}>
            ${types.map((t) => html`<option value=${t}>${t}</option>`)}
          </select></div>`
    }
    <${TextField} label="Description (Markdown)" name="description" value=${description}
      onInput=${setDescription} multiline />
    <${TextField} label="Tags (comma-separated)" name="tags" value=${tags} onInput=${setTags}
      message=${tagsMsg} />
    <${ErrorBox} error=${action.error} />
    <div class="rw-actions">
      <button type="submit" class="rw-btn rw-btn-primary" disabled=${blocked || action.busy}>
        Create collection</button>
      <button type="button" class="rw-btn" onClick=${onDone}>Cancel</button>
      ${action.busy ? html`<${Spinner} label="Creating…" />` : null}
    </div>
  <//>`;
}

/** @param {{name: string}} props */
export function RegistryPage({ name }) {
  const [filter, setFilter] = useState("");
  const [typed, setTyped] = useState("");
  const [offset, setOffset] = useState(0);
  const [creating, openCreate, closeCreate] = useInline("create-collection");
  useEffect(() => {
    const t = setTimeout(() => {
      setFilter(typed);
      setOffset(0);
    }, 200);
    return () => clearTimeout(t);
  }, [typed]);
  const { data, error, loading } = useRequest("registry.get", {
    name,
    filter,
    offset,
    limit: PAGE,
  });
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Spinner} label="Loading registry…" />`;
  const reg = data.registry;
  const page = data.collections;
  // A collection with versions, whose `latest` resolves; else the shape of the line.
  const firstPath = page.items.find((c) => c.count > 0)?.path ?? `${reg.name}/<collection>`;
  return html`<div class="rw-page">
    <${PageHead}
      title=${reg.name}
      loading=${loading}
      tools=${html`<${Link} route=${historyRoute(reg.name)}>History<//>
        <${Link} route=${settingsRoute(reg.name)}>${reg.can?.administer ? "Settings" : "Members and settings"}<//>`}
      action=${
        reg.can?.create_collection
          ? html`<button class="rw-btn rw-btn-primary" onClick=${openCreate} disabled=${creating}>
        Create collection</button>`
          : null
      }>
      <${Chip} kind=${`rw-badge rw-vis-${reg.visibility}`}>${reg.visibility}<//>
      <${Chip} kind="rw-badge">${reg.kind}<//>
    <//>
    <${Markdown} class="rw-desc" text=${reg.description} />
    <div class="rw-meta-line">
      Accepts: ${
        reg.artifact_types === null
          ? html`<${Chip} kind="rw-type">all types<//>`
          : reg.artifact_types.map((t) => html`<${Chip} kind="rw-type">${t}<//>`)
      }
      <span class="rw-muted"> · your role: ${reg.role}</span>
    </div>
    ${creating ? html`<${CreateCollectionForm} registry=${reg} onDone=${closeCreate} />` : null}
    <div class="rw-toolbar">
      <input class="rw-filter" type="search" placeholder="Filter collections by name or tag"
        aria-label="Filter collections" value=${typed}
        onInput=${(/** @type {any} */ e) => setTyped(e.currentTarget.value)} />
      <span class="rw-muted" data-testid="collection-count">${
        filter
          ? `${page.total} of ${countOf(reg.collection_count, "collection")}`
          : countOf(page.total, "collection")
      }</span>
    </div>
    ${
      page.items.length === 0
        ? html`<p class="rw-muted">${filter ? "No collection matches the filter." : "No collections yet."}</p>`
        : html`<table class="rw-table">
          <thead><tr><th>Name</th><th>Type</th><th>Tags</th><th class="rw-num">Versions</th>
            <th>Latest update</th></tr></thead>
          <tbody>${page.items.map(
            (c) => html`<tr key=${c.name}>
            <td><${Link} route=${c.path}>${c.name}<//></td>
            <td><${Chip} kind="rw-type">${c.type}<//></td>
            <td>${c.tags.map((t) => html`<${Chip}>${t}<//>`)}</td>
            <td class="rw-num">${c.count}</td>
            <td title=${formatDate(c.updated_at)}>${formatAgo(c.updated_at)}</td>
          </tr>`,
          )}</tbody>
        </table>`
    }
    <${Pager} offset=${page.offset} limit=${page.limit} total=${page.total} onChange=${setOffset} />
    <h3 class="rw-section">Use a version from this registry</h3>
    <${Snippet} code=${usageSnippet(`${firstPath}:latest`)} />
  </div>`;
}
