// The registries page: core and custom registries, and the "Create registry" form.
import { useState } from "preact/hooks";
import { countOf, splitList } from "../format.js";
import { html } from "../html.js";
import { RUNS_ROUTE } from "../tool-routes.js";
import {
  Chip,
  ErrorBox,
  Form,
  Link,
  Markdown,
  Spinner,
  useAction,
  useApp,
  useInline,
  useRequest,
} from "./common.js";
import { TextField, useNameFree, useValidation } from "./fields.js";

/** @param {{reg: any}} props */
function RegistryCard({ reg }) {
  const types = reg.artifact_types;
  return html`<div class="rw-card" data-registry=${reg.name}>
    <div class="rw-card-head">
      <${Link} route=${reg.name}><span class="rw-card-title">${reg.name}</span><//>
      <${Chip} kind=${`rw-badge rw-vis-${reg.visibility}`}>${reg.visibility}<//>
    </div>
    <${Markdown} class="rw-card-desc" text=${reg.description} />
    <div class="rw-card-foot">
      <span class="rw-types">
        ${
          types === null
            ? html`<${Chip} kind="rw-type">all types<//>`
            : types.map((t) => html`<${Chip} kind="rw-type">${t}<//>`)
        }
      </span>
      <span class="rw-muted">
        ${countOf(reg.collection_count, "collection")} · you: ${reg.role}
      </span>
    </div>
  </div>`;
}

/** @param {{onDone: () => void}} props */
function CreateRegistryForm({ onDone }) {
  const { invoke, navigate } = useApp();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [visibility, setVisibility] = useState("organization");
  const [allTypes, setAllTypes] = useState(true);
  const [types, setTypes] = useState("");
  const formatMsg = useValidation("registry_name", name, { skipEmpty: true });
  const takenMsg = useNameFree(name);
  const nameMsg = formatMsg || takenMsg;
  const typesMsg = useValidation("artifact_types", allTypes ? "" : types, { skipEmpty: true });
  const action = useAction();
  const typeList = splitList(types);
  const blocked =
    !name.trim() || Boolean(nameMsg) || (!allTypes && (typeList.length === 0 || Boolean(typesMsg)));

  async function submit(/** @type {Event} */ e) {
    e.preventDefault();
    const reg = await action.run(() =>
      invoke("registry.create", {
        name,
        description,
        visibility,
        artifact_types: allTypes ? null : typeList,
      }),
    );
    if (reg) {
      onDone();
      navigate(reg.name);
    }
  }

  return html`<${Form} onSubmit=${submit} onCancel=${onDone} autoFocus label="Create registry">
    <${TextField} label="Name" name="name" value=${name} onInput=${setName} message=${nameMsg}
      placeholder="e.g. Vision models" />
    <${TextField} label="Description" name="description" value=${description}
      onInput=${setDescription} multiline />
    <div class="rw-field">
      <label>Visibility</label>
      <div class="rw-radios">
        <label><input type="radio" name="visibility" checked=${visibility === "organization"}
          onChange=${() => setVisibility("organization")} /> Organization — everyone can see it</label>
        <label><input type="radio" name="visibility" checked=${visibility === "restricted"}
          onChange=${() => setVisibility("restricted")} /> Restricted — members only</label>
      </div>
    </div>
    <div class="rw-field">
      <label>Accepted artifact types</label>
      <div class="rw-radios">
        <label><input type="radio" name="types-mode" checked=${allTypes}
          onChange=${() => setAllTypes(true)} /> All types</label>
        <label><input type="radio" name="types-mode" checked=${!allTypes}
          onChange=${() => setAllTypes(false)} /> Only these:</label>
      </div>
      ${
        allTypes
          ? null
          : html`<${TextField} label="Types (comma-separated)" name="types"
          value=${types} onInput=${setTypes} message=${typesMsg} placeholder="model, dataset" />`
      }
    </div>
    <${ErrorBox} error=${action.error} />
    <div class="rw-actions">
      <button type="submit" class="rw-btn rw-btn-primary" disabled=${blocked || action.busy}>
        Create registry</button>
      <button type="button" class="rw-btn" onClick=${onDone}>Cancel</button>
      ${action.busy ? html`<${Spinner} label="Creating…" />` : null}
    </div>
  <//>`;
}

export function RegistriesPage() {
  const { data, error, loading } = useRequest("registries.list", {});
  const [creating, openCreate, closeCreate] = useInline("create-registry");
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Spinner} label="Loading registries…" />`;
  return html`<div class="rw-page">
    <div class="rw-page-head">
      <h2>Registries</h2>
      ${loading ? html`<${Spinner} label="" />` : null}
      ${html`<span class="rw-head-tools"><${Link} route="?artifacts">Artifacts<//><${Link} route=${RUNS_ROUTE}>Runs<//>${
        data.can?.manage_users ? html`<${Link} route="?org">Organization<//>` : null
      }</span>`}
      ${
        !data.can?.create_registry
          ? null
          : html`<button class="rw-btn rw-btn-primary" onClick=${openCreate} disabled=${creating}>
        Create registry</button>`
      }
    </div>
    ${creating ? html`<${CreateRegistryForm} onDone=${closeCreate} />` : null}
    <h3 class="rw-section">Core registries</h3>
    <div class="rw-cards">${data.core.map((r) => html`<${RegistryCard} key=${r.name} reg=${r} />`)}</div>
    <h3 class="rw-section">Custom registries</h3>
    ${
      data.custom.length === 0
        ? html`<p class="rw-muted">No custom registries yet. Create one for a team or a project.</p>`
        : html`<div class="rw-cards">
          ${data.custom.map((r) => html`<${RegistryCard} key=${r.name} reg=${r} />`)}</div>`
    }
  </div>`;
}
