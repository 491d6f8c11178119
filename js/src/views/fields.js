// Form fields that validate as the user types, by asking the kernel (the rules live in Python).
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { useApp } from "./common.js";

/**
 * Ask the kernel whether `value` is acceptable for `field`, debounced.
 * Returns the refusal message, or "" when the value is fine (or not checked yet).
 *
 * @param {string} field  e.g. "registry_name", "collection_name", "alias", "tags", "artifact_types"
 * @param {string} value
 * @param {{skipEmpty?: boolean}} [options]
 */
export function useValidation(field, value, options = {}) {
  const { invoke } = useApp();
  const [message, setMessage] = useState("");
  const skip = options.skipEmpty && value.trim() === "";
  useEffect(() => {
    if (skip) {
      setMessage("");
      return undefined;
    }
    let live = true;
    const timer = setTimeout(() => {
      invoke("validate", { field, value }).then(
        (r) => live && setMessage(r.ok ? "" : r.message),
        () => live && setMessage(""),
      );
    }, 150);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [field, value, skip, invoke]);
  return message;
}

/**
 * Ask the kernel whether a new registry (or a new collection of `registry`) may take `name`,
 * debounced: a duplicate shows at the field as the user types. "" when free or unchecked.
 *
 * @param {string} name
 * @param {string | null} [registry]
 */
export function useNameFree(name, registry = null) {
  const { invoke } = useApp();
  const [message, setMessage] = useState("");
  const text = name.trim();
  useEffect(() => {
    if (!text) {
      setMessage("");
      return undefined;
    }
    let live = true;
    const timer = setTimeout(() => {
      invoke("name.free", { name: text, registry }).then(
        (r) => live && setMessage(r?.ok === false ? r.message : ""),
        () => live && setMessage(""),
      );
    }, 200);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [text, registry, invoke]);
  return message;
}

/**
 * A labelled text input with its inline validation message.
 *
 * @param {{label: string, value: string, onInput: (v: string) => void, message?: string,
 *   placeholder?: string, name: string, multiline?: boolean, hint?: string}} props
 */
export function TextField({ label, value, onInput, message, placeholder, name, multiline, hint }) {
  const id = `rw-f-${name}`;
  const input = multiline
    ? html`<textarea id=${id} name=${name} rows="3" value=${value} placeholder=${placeholder}
        onInput=${(/** @type {any} */ e) => onInput(e.currentTarget.value)}></textarea>`
    : html`<input id=${id} name=${name} type="text" value=${value} placeholder=${placeholder}
        autocomplete="off" aria-invalid=${message ? "true" : "false"}
        onInput=${(/** @type {any} */ e) => onInput(e.currentTarget.value)} />`;
  return html`<div class="rw-field">
    <label for=${id}>${label}</label>
    ${input}
    ${hint && !message ? html`<div class="rw-hint">${hint}</div>` : null}
    ${message ? html`<div class="rw-invalid" role="status">${message}</div>` : null}
  </div>`;
}
