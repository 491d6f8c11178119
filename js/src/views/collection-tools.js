// Members' changes to a collection: edit its description and tags, delete it, unlink a version.
// Each control is shown only when the kernel's `can` flags allow it; the kernel still refuses
// anyone else, and a refusal appears next to the button.
import { useState } from "preact/hooks";
import { splitList } from "../format.js";
import { html } from "../html.js";
import { ErrorBox, Form, Markdown, Spinner, useAction, useApp, useInline } from "./common.js";
import { TextField, useValidation } from "./fields.js";

/** @param {{coll: any, onDone: () => void}} props */
function EditForm({ coll, onDone }) {
  const { invoke, notify } = useApp();
  const [description, setDescription] = useState(coll.description);
  const [tags, setTags] = useState(coll.tags.join(", "));
  const tagsMsg = useValidation("tags", tags, { skipEmpty: true });
  const action = useAction();
  async function save() {
    const done = await action.run(() =>
      invoke("collection.update", { path: coll.path, description, tags: splitList(tags) }),
    );
    if (done) {
      onDone();
      notify("Description and tags saved.");
    }
  }
  return html`<${Form} onSubmit=${save} onCancel=${onDone} autoFocus label="Edit collection">
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
  <//>`;
}

/**
 * The collection's Markdown description, with "Edit" beside it for those who may.
 *
 * @param {{coll: any}} props
 */
export function CollectionDescription({ coll }) {
  const [editing, openEdit, closeEdit] = useInline("collection-edit");
  if (editing) return html`<${EditForm} coll=${coll} onDone=${closeEdit} />`;
  return html`<div class="rw-described">
    <${Markdown} text=${coll.description} />
    ${
      coll.can?.edit
        ? html`<button class="rw-btn rw-btn-small rw-btn-plain" onClick=${openEdit}>
          Edit description and tags</button>`
        : null
    }
  </div>`;
}

/**
 * Deleting the collection: a quiet link at the foot of the page, shown only to those the
 * kernel would allow, then a confirmation.
 *
 * @param {{coll: any}} props
 */
export function DeleteCollection({ coll }) {
  const { invoke, navigate, notify } = useApp();
  const [asking, ask, closeAsk] = useInline("collection-delete");
  const action = useAction();
  if (!coll.can?.delete) return null;
  function cancel() {
    closeAsk();
    action.clear();
  }
  async function remove() {
    const done = await action.run(() => invoke("collection.delete", { path: coll.path }));
    if (done) {
      notify(`Deleted ${coll.path}.`);
      navigate(done.registry);
    }
  }
  return html`<div class="rw-danger-zone">
    ${
      asking
        ? html`<${Form} class="rw-confirm" label="Confirm deleting the collection" autoFocus
          onSubmit=${remove} onCancel=${cancel}>
          <p><strong>Delete ${coll.path}?</strong> Its ${coll.count} linked
            version${coll.count === 1 ? " is" : "s are"} unlinked; the artifact versions stay
            logged.</p>
          <${ErrorBox} error=${action.error} />
          <div class="rw-actions">
            <button type="submit" class="rw-btn rw-btn-danger" disabled=${action.busy}>
              Delete collection</button>
            <button type="button" class="rw-btn" onClick=${cancel}>Cancel</button>
          </div>
        <//>`
        : html`<button class="rw-btn rw-btn-small rw-btn-plain rw-quiet-danger" onClick=${ask}>
          Delete collection…</button>`
    }
  </div>`;
}

/**
 * Unlinking a version, from its own page: shown only when the kernel would allow it (a
 * member may not unlink a version holding a protected alias), after a confirmation.
 *
 * @param {{link: any}} props
 */
export function UnlinkButton({ link }) {
  const { invoke, navigate, notify } = useApp();
  const [asking, ask, closeAsk] = useInline(`unlink:${link.path}`);
  const action = useAction();
  if (!link.can?.unlink) return null;
  function cancel() {
    closeAsk();
    action.clear();
  }
  async function unlink() {
    const done = await action.run(() => invoke("link.delete", { path: link.path }));
    if (done) {
      notify(`Unlinked ${link.path}; the artifact version stays logged.`);
      navigate(done.collection);
    }
  }
  return html`<div class="rw-danger-zone">
    ${
      asking
        ? html`<${Form} class="rw-confirm" label=${`Confirm unlinking ${link.version}`} autoFocus
          onSubmit=${unlink} onCancel=${cancel}>
          <p><strong>Unlink ${link.path}?</strong> It leaves the collection; the artifact
            version stays logged and linked elsewhere.</p>
          <${ErrorBox} error=${action.error} />
          <div class="rw-actions">
            <button type="submit" class="rw-btn rw-btn-danger" disabled=${action.busy}>Unlink</button>
            <button type="button" class="rw-btn" onClick=${cancel}>Cancel</button>
          </div>
        <//>`
        : html`<button class="rw-btn rw-btn-small rw-btn-plain rw-quiet-danger" onClick=${ask}>
          Unlink ${link.version}…</button>`
    }
  </div>`;
}
