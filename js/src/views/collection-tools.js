// Members' changes to a collection: edit its description and tags, delete it, unlink a version.
// Shown only to members and admins; the kernel refuses anyone else (and a member's attempt
// on a version holding a protected alias), and the refusal appears next to the button.
import { useState } from "preact/hooks";
import { splitList } from "../format.js";
import { html } from "../html.js";
import { atLeast } from "../roles.js";
import { ErrorBox, Spinner, useAction, useApp } from "./common.js";
import { TextField, useValidation } from "./fields.js";

/** @param {{coll: any, onDone: () => void}} props */
function EditForm({ coll, onDone }) {
  const { invoke } = useApp();
  const [description, setDescription] = useState(coll.description);
  const [tags, setTags] = useState(coll.tags.join(", "));
  const tagsMsg = useValidation("tags", tags, { skipEmpty: true });
  const action = useAction();
  async function save(/** @type {Event} */ e) {
    e.preventDefault();
    const done = await action.run(() =>
      invoke("collection.update", { path: coll.path, description, tags: splitList(tags) }),
    );
    if (done) onDone();
  }
  return html`<form class="rw-form" onSubmit=${save} aria-label="Edit collection">
    <${TextField} label="Description (Markdown)" name="coll-description" value=${description}
      onInput=${setDescription} multiline />
    <${TextField} label="Tags (comma-separated)" name="coll-tags" value=${tags} onInput=${setTags}
      message=${tagsMsg} />
    <${ErrorBox} error=${action.error} />
    <div class="rw-actions">
      <button type="submit" class="rw-btn rw-btn-primary" disabled=${Boolean(tagsMsg) || action.busy}>
        Save</button>
      <button type="button" class="rw-btn" onClick=${onDone}>Cancel</button>
      ${action.busy ? html`<${Spinner} label="Saving…" />` : null}
    </div>
  </form>`;
}

/** @param {{coll: any}} props */
export function CollectionTools({ coll }) {
  const { invoke, navigate } = useApp();
  const [mode, setMode] = useState(/** @type {"" | "edit" | "delete"} */ (""));
  const action = useAction();
  if (!atLeast(coll.role, "member")) return null;
  return html`<div class="rw-coll-tools">
    ${
      mode === ""
        ? html`<div class="rw-actions">
          <button class="rw-btn rw-btn-small" onClick=${() => setMode("edit")}>
            Edit description and tags</button>
          <button class="rw-btn rw-btn-small rw-btn-danger" onClick=${() => setMode("delete")}>
            Delete collection…</button></div>`
        : null
    }
    ${mode === "edit" ? html`<${EditForm} coll=${coll} onDone=${() => setMode("")} />` : null}
    ${
      mode === "delete"
        ? html`<div class="rw-confirm" role="group" aria-label="Confirm deleting the collection">
          <p><strong>Delete ${coll.path}?</strong> Its ${coll.count} linked
            version${coll.count === 1 ? " is" : "s are"} unlinked; the artifact versions stay
            logged.</p>
          <${ErrorBox} error=${action.error} />
          <div class="rw-actions">
            <button class="rw-btn rw-btn-danger" disabled=${action.busy}
              onClick=${async () => {
                const done = await action.run(() =>
                  invoke("collection.delete", { path: coll.path }),
                );
                if (done) navigate(done.registry);
              }}>Delete collection</button>
            <button class="rw-btn" onClick=${() => {
              setMode("");
              action.clear();
            }}>Cancel</button>
          </div>
        </div>`
        : null
    }
  </div>`;
}

/** @param {{row: any}} props */
export function UnlinkCell({ row }) {
  const { invoke } = useApp();
  const [asking, setAsking] = useState(false);
  const action = useAction();
  return html`<div class="rw-unlink">
    ${
      asking
        ? html`<span class="rw-inline-form" role="group" aria-label=${`Confirm unlinking ${row.version}`}>
          Unlink ${row.version}?
          <button class="rw-btn rw-btn-small rw-btn-danger" disabled=${action.busy}
            onClick=${async () => {
              const done = await action.run(() => invoke("link.delete", { path: row.path }));
              if (done) setAsking(false);
            }}>Unlink</button>
          <button class="rw-btn rw-btn-small rw-btn-plain" onClick=${() => {
            setAsking(false);
            action.clear();
          }}>Cancel</button></span>`
        : html`<button class="rw-btn rw-btn-small rw-btn-plain" aria-label=${`Unlink ${row.version}`}
          title="Remove this version from the collection (the artifact version stays)"
          onClick=${() => setAsking(true)}>Unlink</button>`
    }
    <${ErrorBox} error=${action.error} />
  </div>`;
}
