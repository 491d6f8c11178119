// A registry's settings: name and description, visibility, accepted types, members, protected
// aliases, deletion. Controls appear only for roles that may use them; the kernel refuses the
// rest anyway, and every refusal is shown under the control that caused it.
import { useState } from "preact/hooks";
import { html } from "../html.js";
import { roleLabel } from "../roles.js";
import { settingsRoute } from "../tool-routes.js";
import {
  Chip,
  ErrorBox,
  Form,
  LockIcon,
  Markdown,
  PageHead,
  Spinner,
  useAction,
  useApp,
  useRequest,
} from "./common.js";
import { TextField, useValidation } from "./fields.js";

/**
 * @typedef {object} Settings
 * @property {any} registry
 * @property {string} user
 * @property {string} role
 * @property {string} org_role
 * @property {{admin: boolean, write: boolean, edit: boolean, restrict: boolean, delete: boolean}} can
 * @property {AcceptedType[] | null} types
 * @property {{user: string, role: string, effective_role: string | null, you: boolean}[]} members
 * @property {string[]} candidates
 * @property {string[]} roles
 */

/**
 * An accepted type; `why_kept` is the kernel's reason it cannot be removed now, or null.
 *
 * @typedef {{name: string, used_by: string[], fixed: boolean, why_kept: string | null}} AcceptedType
 */

/** @param {{title: string, children: any, id?: string}} props */
function Section({ title, children, id }) {
  return html`<section class="rw-settings-section" aria-label=${title} data-section=${id}>
    <h3 class="rw-section">${title}</h3>
    ${children}
  </section>`;
}

/** @param {{s: Settings, onRenamed: (name: string) => void}} props */
function General({ s, onRenamed }) {
  const { invoke } = useApp();
  const reg = s.registry;
  const [name, setName] = useState(reg.name);
  const [description, setDescription] = useState(reg.description);
  const nameMsg = useValidation("registry_name", name, { skipEmpty: true });
  const action = useAction();
  if (!s.can.edit) {
    return html`<${Section} title="Name and description" id="general">
      <p><strong>${reg.name}</strong></p>
      <${Markdown} class="rw-desc" text=${reg.description} />
      <p class="rw-muted rw-reason">${
        reg.kind === "core"
          ? `${reg.name} is a core registry: its name and description are preconfigured and cannot be edited.`
          : "Only registry admins can edit the name and description."
      }</p>
    <//>`;
  }
  const changed = name !== reg.name || description !== reg.description;
  async function save(/** @type {Event} */ e) {
    e.preventDefault();
    const result = await action.run(() =>
      invoke("registry.update", {
        name: reg.name,
        new_name: name === reg.name ? null : name,
        description: description === reg.description ? null : description,
      }),
    );
    if (result && result.name !== reg.name) onRenamed(result.name);
  }
  return html`<${Section} title="Name and description" id="general">
    <${Form} class="rw-form" onSubmit=${save} label="Name and description">
      <${TextField} label="Name" name="reg-name" value=${name} onInput=${setName} message=${nameMsg} />
      <${TextField} label="Description" name="reg-description" value=${description}
        onInput=${setDescription} multiline />
      <${ErrorBox} error=${action.error} />
      <div class="rw-actions">
        <button type="submit" class="rw-btn rw-btn-primary"
          disabled=${!changed || !name.trim() || Boolean(nameMsg) || action.busy}>Save</button>
        ${action.busy ? html`<${Spinner} label="Saving…" />` : null}
      </div>
    <//>
  <//>`;
}

/** @param {{s: Settings}} props */
function Visibility({ s }) {
  const { invoke } = useApp();
  const reg = s.registry;
  const [confirming, setConfirming] = useState(false);
  const action = useAction();
  /** @type {any} */
  let body;
  if (reg.kind === "core") {
    body = html`<p class="rw-muted rw-reason">Always <strong>organization</strong>: core registries
      are visible to the whole organization, and their visibility cannot be changed.</p>`;
  } else if (reg.visibility === "restricted") {
    body = html`<p class="rw-muted rw-reason">Only members and organization admins can see this
      registry. A restricted registry cannot be made visible to the whole organization again.</p>`;
  } else if (!s.can.restrict) {
    body = html`<p class="rw-muted rw-reason">Every organization user can see this registry.
      Only registry admins can restrict it.</p>`;
  } else if (!confirming) {
    body = html`<p>Every organization user can see this registry.</p>
      <button class="rw-btn" onClick=${() => setConfirming(true)}>Restrict to members…</button>`;
  } else {
    body = html`<div class="rw-confirm" role="group" aria-label="Confirm restricting">
      <p><strong>Restrict “${reg.name}”?</strong> Only its members and organization admins will
        see it; everyone else will no longer find it. <strong>This cannot be switched
        back</strong> to organization.</p>
      <div class="rw-actions">
        <button class="rw-btn rw-btn-danger" disabled=${action.busy}
          onClick=${async () => {
            const done = await action.run(() =>
              invoke("registry.update", { name: reg.name, visibility: "restricted" }),
            );
            if (done) setConfirming(false);
          }}>Restrict permanently</button>
        <button class="rw-btn" onClick=${() => {
          setConfirming(false);
          action.clear();
        }}>Cancel</button>
      </div>
    </div>`;
  }
  return html`<${Section} title="Visibility" id="visibility">
    <p><${Chip} kind=${`rw-badge rw-vis-${reg.visibility}`}>${reg.visibility}<//></p>
    ${body}
    <${ErrorBox} error=${action.error} />
  <//>`;
}

/**
 * One accepted type: who uses it and, for admins, Remove; when the kernel says the type must
 * stay, Remove is disabled and the reason is shown beside it.
 *
 * @param {{type: AcceptedType, registry: string, admin: boolean, action: any}} props
 */
function TypeItem({ type: t, registry, admin, action }) {
  const { invoke } = useApp();
  const reasonId = `rw-type-kept-${registry}-${t.name}`.replace(/[^\w-]/g, "_");
  const remove = () =>
    action.run(() => invoke("registry.type.remove", { name: registry, type: t.name }));
  // The kernel's reason names the collections using the type, when that is why it stays.
  const note =
    t.why_kept ??
    (t.used_by.length ? `used by ${t.used_by.join(", ")}` : "not used by any collection");
  const removable = admin && !t.fixed;
  return html`<li data-type=${t.name}>
    <${Chip} kind="rw-type">${t.name}<//>
    <span class="rw-muted" id=${reasonId}>${note}</span>
    ${
      removable
        ? html`<button class="rw-btn rw-btn-small" aria-label=${`Remove type ${t.name}`}
          aria-describedby=${t.why_kept ? reasonId : undefined} title=${t.why_kept ?? undefined}
          disabled=${action.busy || Boolean(t.why_kept)} onClick=${remove}>Remove</button>`
        : null
    }
  </li>`;
}

/** @param {{s: Settings}} props */
function Types({ s }) {
  const { invoke, notify } = useApp();
  const reg = s.registry;
  const [type, setType] = useState("");
  const typeMsg = useValidation("artifact_type", type, { skipEmpty: true });
  const action = useAction();
  if (s.types === null) {
    return html`<${Section} title="Accepted types" id="types">
      <p><${Chip} kind="rw-type">all types<//></p>
      <p class="rw-muted rw-reason">This registry was created without a list of types, so it accepts
        every artifact type.</p>
    <//>`;
  }
  async function add(/** @type {Event} */ e) {
    e.preventDefault();
    const done = await action.run(() =>
      invoke("registry.type.add", { name: reg.name, type: type.trim() }),
    );
    if (done) {
      notify(`${reg.name} now accepts “${type.trim()}”.`);
      setType("");
    }
  }
  return html`<${Section} title="Accepted types" id="types">
    <ul class="rw-setting-list">${s.types.map(
      (t) => html`<${TypeItem} key=${t.name} type=${t} registry=${reg.name} admin=${s.can.admin}
        action=${action} />`,
    )}</ul>
    ${
      s.can.admin
        ? html`<${Form} class="rw-inline-form rw-add-row" onSubmit=${add} label="Add a type">
          <input type="text" aria-label="New type" placeholder="e.g. onnx" value=${type}
            aria-invalid=${typeMsg ? "true" : "false"}
            onInput=${(/** @type {any} */ e) => setType(e.currentTarget.value)} />
          <button type="submit" class="rw-btn rw-btn-small"
            disabled=${!type.trim() || Boolean(typeMsg) || action.busy}>Add type</button>
        <//>
        ${typeMsg ? html`<div class="rw-invalid" role="status">${typeMsg}</div>` : null}`
        : null
    }
    <${ErrorBox} error=${action.error} />
  <//>`;
}

/** @param {{s: Settings}} props */
function Members({ s }) {
  const { invoke, notify } = useApp();
  const reg = s.registry;
  const [user, setUser] = useState("");
  const [role, setRole] = useState("viewer");
  const action = useAction();
  const me = s.members.find((m) => m.you);
  // The kernel leaves yourself out of the candidates; nobody is preselected.
  const candidates = s.candidates;
  const pick = candidates.includes(user) ? user : "";
  return html`<${Section} title="Members" id="members">
    <p class="rw-you" data-testid="own-role">You (<strong>${s.user}</strong>): effective role${" "}
      <${Chip} kind="rw-role">${roleLabel(s.role)}<//>
      <span class="rw-muted">${
        me
          ? ` — registry role ${roleLabel(me.role)}, organization role ${s.org_role}`
          : ` — from your organization role ${s.org_role}`
      }</span></p>
    ${
      s.members.length === 0
        ? html`<p class="rw-muted">No members with a registry role yet.</p>`
        : html`<table class="rw-table rw-members">
      <thead><tr><th>User</th><th>Registry role</th><th>Effective role</th>
        ${s.can.admin ? html`<th></th>` : null}</tr></thead>
      <tbody>${s.members.map(
        (m) => html`<tr key=${m.user} data-member=${m.user}>
          <td>${m.user}${m.you ? html` <span class="rw-muted">(you)</span>` : null}</td>
          <td>${
            s.can.admin
              ? html`<select aria-label=${`Role of ${m.user}`} value=${m.role} disabled=${action.busy}
                onChange=${async (/** @type {any} */ e) => {
                  const to = e.currentTarget.value;
                  const done = await action.run(() =>
                    invoke("registry.member.role", { name: reg.name, user: m.user, role: to }),
                  );
                  if (done) notify(`${m.user} is now ${roleLabel(to)} of ${reg.name}.`);
                }}>
                ${s.roles.map((r) => html`<option value=${r}>${roleLabel(r)}</option>`)}
              </select>`
              : roleLabel(m.role)
          }</td>
          <td>${roleLabel(m.effective_role)}${
            m.effective_role !== m.role
              ? html` <span class="rw-muted">(from the organization role)</span>`
              : null
          }</td>
          ${
            s.can.admin
              ? html`<td><button class="rw-btn rw-btn-small" aria-label=${`Remove ${m.user}`}
                disabled=${action.busy}
                onClick=${async () => {
                  const done = await action.run(() =>
                    invoke("registry.member.remove", { name: reg.name, user: m.user }),
                  );
                  if (done) notify(`Removed ${m.user} from ${reg.name}.`);
                }}>
                Remove</button></td>`
              : null
          }
        </tr>`,
      )}</tbody></table>`
    }
    ${
      s.can.admin
        ? candidates.length === 0
          ? html`<p class="rw-muted">Every organization user is already a member.</p>`
          : html`<${Form} class="rw-inline-form rw-add-row" label="Add a member"
          onSubmit=${async (/** @type {Event} */ e) => {
            e.preventDefault();
            const done = await action.run(() =>
              invoke("registry.member.add", { name: reg.name, user: pick, role }),
            );
            if (done) {
              notify(`Added ${pick} to ${reg.name} as ${roleLabel(role)}.`);
              setUser("");
            }
          }}>
          <select aria-label="User to add" value=${pick}
            onChange=${(/** @type {any} */ e) => setUser(e.currentTarget.value)}>
            <option value="" disabled>Choose a user…</option>
            ${candidates.map((u) => html`<option value=${u}>${u}</option>`)}
          </select>
          <select aria-label="Role of the new member" value=${role}
            onChange=${(/** @type {any} */ e) => setRole(e.currentTarget.value)}>
            ${s.roles.map((r) => html`<option value=${r}>${roleLabel(r)}</option>`)}
          </select>
          <button type="submit" class="rw-btn rw-btn-small" disabled=${!pick || action.busy}>
            Add member</button>
        <//>`
        : null
    }
    <${ErrorBox} error=${action.error} />
  <//>`;
}

/** @param {{s: Settings}} props */
function Protected({ s }) {
  const { invoke, notify } = useApp();
  const reg = s.registry;
  const [alias, setAlias] = useState("");
  const aliasMsg = useValidation("alias", alias, { skipEmpty: true });
  const action = useAction();
  const list = reg.protected_aliases;
  return html`<${Section} title="Protected aliases" id="protected">
    <p class="rw-muted">Only registry admins may set, move or remove a protected alias; members
      may not unlink a version that carries one.</p>
    <div class="rw-meta-line">
      ${list.length === 0 ? html`<span class="rw-muted">None.</span>` : null}
      ${list.map(
        (a) => html`<${Chip} kind="rw-alias rw-protected" title="Protected alias">
          <${LockIcon} />${a}
          ${
            s.can.admin
              ? html`<button class="rw-chip-x" aria-label=${`Unprotect ${a}`} title="Stop protecting"
                disabled=${action.busy}
                onClick=${() => action.run(() => invoke("registry.protected.remove", { name: reg.name, alias: a }))}>×</button>`
              : null
          }<//>`,
      )}
    </div>
    ${
      s.can.admin
        ? html`<${Form} class="rw-inline-form rw-add-row" label="Protect an alias"
          onSubmit=${async (/** @type {Event} */ e) => {
            e.preventDefault();
            const done = await action.run(() =>
              invoke("registry.protected.add", { name: reg.name, alias: alias.trim() }),
            );
            if (done) {
              notify(`“${alias.trim()}” is now protected in ${reg.name}.`);
              setAlias("");
            }
          }}>
          <input type="text" aria-label="Alias to protect" placeholder="e.g. production" value=${alias}
            aria-invalid=${aliasMsg ? "true" : "false"}
            onInput=${(/** @type {any} */ e) => setAlias(e.currentTarget.value)} />
          <button type="submit" class="rw-btn rw-btn-small"
            disabled=${!alias.trim() || Boolean(aliasMsg) || action.busy}>Protect</button>
        <//>
        ${aliasMsg ? html`<div class="rw-invalid" role="status">${aliasMsg}</div>` : null}`
        : null
    }
    <${ErrorBox} error=${action.error} />
  <//>`;
}

/** @param {{s: Settings}} props */
function Danger({ s }) {
  const { invoke, navigate, notify } = useApp();
  const reg = s.registry;
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const action = useAction();
  if (reg.kind === "core") {
    return html`<${Section} title="Delete registry" id="delete">
      <p class="rw-muted rw-reason">${reg.name} is a core registry and cannot be deleted.</p>
    <//>`;
  }
  if (!s.can.delete) return null;
  return html`<${Section} title="Delete registry" id="delete">
    <p>Deleting removes its collections and links. The artifact versions stay logged.</p>
    ${
      open
        ? html`<${Form} class="rw-confirm" label="Confirm deleting" autoFocus
          onCancel=${() => {
            setOpen(false);
            setTyped("");
            action.clear();
          }}
          onSubmit=${async (/** @type {Event} */ e) => {
            e.preventDefault();
            const done = await action.run(() =>
              invoke("registry.delete", { name: reg.name, confirm: typed }),
            );
            if (done) {
              notify(`Deleted the registry ${reg.name}.`);
              navigate("");
            }
          }}>
          <label for="rw-delete-confirm">Type <strong class="rw-mono">${reg.name}</strong> to
            confirm</label>
          <input id="rw-delete-confirm" type="text" autocomplete="off" value=${typed}
            onInput=${(/** @type {any} */ e) => setTyped(e.currentTarget.value)} />
          <div class="rw-actions">
            <button type="submit" class="rw-btn rw-btn-danger"
              disabled=${typed !== reg.name || action.busy}>Delete this registry</button>
            <button type="button" class="rw-btn" onClick=${() => {
              setOpen(false);
              setTyped("");
              action.clear();
            }}>Cancel</button>
          </div>
        <//>`
        : html`<button class="rw-btn rw-btn-danger" onClick=${() => setOpen(true)}>
          Delete registry…</button>`
    }
    <${ErrorBox} error=${action.error} />
  <//>`;
}

/** @param {{name: string}} props */
export function SettingsPage({ name }) {
  const { navigate } = useApp();
  const { data, error, loading } = useRequest("settings.get", { name });
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Spinner} label="Loading settings…" />`;
  /** @type {Settings} */
  const s = data;
  const reg = s.registry;
  return html`<div class="rw-page rw-settings">
    <${PageHead} title=${`Settings of ${reg.name}`} loading=${loading}>
      <${Chip} kind=${`rw-badge rw-vis-${reg.visibility}`}>${reg.visibility}<//>
      <${Chip} kind="rw-badge">${reg.kind}<//>
    <//>
    ${
      s.can.admin
        ? null
        : html`<p class="rw-note" role="note">You can look at these settings; changing them needs
          the admin role on ${reg.name}, and yours is ${roleLabel(s.role)}.</p>`
    }
    <div class="rw-settings-grid">
      <${General} key=${`${reg.name}\n${reg.description}`} s=${s} onRenamed=${(/** @type {string} */ n) => navigate(settingsRoute(n))} />
      <${Visibility} s=${s} />
      <${Types} s=${s} />
      <${Protected} s=${s} />
      <${Members} s=${s} />
      <${Danger} s=${s} />
    </div>
  </div>`;
}
