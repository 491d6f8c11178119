// The organization page: its users and their organization roles; org admins add and remove
// users and change roles.
import { useState } from "preact/hooks";
import { formatAgo, formatDate } from "../format.js";
import { html } from "../html.js";
import { Chip, ErrorBox, Form, Spinner, useAction, useApp, useRequest } from "./common.js";
import { useValidation } from "./fields.js";

export function OrgPage() {
  const { invoke, notify } = useApp();
  const { data, error } = useRequest("org.get", {});
  const [name, setName] = useState("");
  const nameMsg = useValidation("user_name", name.trim(), { skipEmpty: true });
  const [role, setRole] = useState("member");
  const add = useAction();
  const change = useAction();
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Spinner} label="Loading the organization…" />`;
  const admin = data.can.manage_users;
  return html`<div class="rw-page rw-org">
    <div class="rw-page-head">
      <h2>Organization</h2>
      <span class="rw-muted">You (<strong>${data.user}</strong>): organization role${" "}
        <${Chip} kind="rw-role">${data.role}<//></span>
    </div>
    <p class="rw-muted">Organization admins are admins of every registry. Members may create
      registries; on an organization registry every user is at least a viewer.</p>
    ${
      admin
        ? null
        : html`<p class="rw-note" role="note">Only organization admins add users or change roles.</p>`
    }
    <table class="rw-table rw-users">
      <thead><tr><th>User</th><th>Organization role</th><th>Added</th>
        ${admin ? html`<th></th>` : null}</tr></thead>
      <tbody>${data.users.map(
        (/** @type {any} */ u) => html`<tr key=${u.name} data-user=${u.name}>
          <td>${u.name}${u.you ? html` <span class="rw-muted">(you)</span>` : null}</td>
          <td>${
            admin
              ? html`<select aria-label=${`Organization role of ${u.name}`} value=${u.role}
                disabled=${change.busy}
                onChange=${async (/** @type {any} */ e) => {
                  const to = e.currentTarget.value;
                  const done = await change.run(() =>
                    invoke("org.user.role", { name: u.name, role: to }),
                  );
                  if (done) notify(`${u.name} is now an organization ${to}.`);
                }}>
                ${data.roles.map((/** @type {string} */ r) => html`<option value=${r}>${r}</option>`)}
              </select>`
              : u.role
          }</td>
          <td title=${formatDate(u.created_at)}>${formatAgo(u.created_at)}</td>
          ${
            admin
              ? html`<td>${
                  u.you
                    ? null
                    : html`<button class="rw-btn rw-btn-small"
                    aria-label=${`Remove ${u.name} from the organization`} disabled=${change.busy}
                    onClick=${async () => {
                      const done = await change.run(() =>
                        invoke("org.user.remove", { name: u.name }),
                      );
                      if (done) notify(`Removed ${u.name} from the organization.`);
                    }}>Remove</button>`
                }</td>`
              : null
          }
        </tr>`,
      )}</tbody>
    </table>
    <${ErrorBox} error=${change.error} />
    ${
      admin
        ? html`<${Form} class="rw-form" label="Add a user" onSubmit=${async (
            /** @type {Event} */ e,
          ) => {
            e.preventDefault();
            const done = await add.run(() => invoke("org.user.add", { name: name.trim(), role }));
            if (done) {
              notify(`Added ${name.trim()} as ${role}.`);
              setName("");
            }
          }}>
          <div class="rw-field"><label for="rw-f-user-name">User name</label>
            <input id="rw-f-user-name" type="text" autocomplete="off" value=${name}
              placeholder="e.g. grace" onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} />
            ${nameMsg ? html`<div class="rw-invalid" role="status">${nameMsg}</div>` : null}</div>
          <div class="rw-field"><label for="rw-f-user-role">Organization role</label>
            <select id="rw-f-user-role" value=${role}
              onChange=${(/** @type {any} */ e) => setRole(e.currentTarget.value)}>
              ${data.roles.map((/** @type {string} */ r) => html`<option value=${r}>${r}</option>`)}
            </select></div>
          <${ErrorBox} error=${add.error} />
          <div class="rw-actions">
            <button type="submit" class="rw-btn rw-btn-primary" disabled=${!name.trim() || Boolean(nameMsg) || add.busy}>
              Add user</button>
          </div>
        <//>`
        : null
    }
  </div>`;
}
