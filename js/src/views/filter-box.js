// The filter box of a list page: the text field for the filter grammar, whose text is sent
// once typing pauses, and the refusal of an invalid filter shown under the toolbar.
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "../html.js";

/** How long typing must pause before the filter text is sent (milliseconds). */
export const FILTER_DELAY_MS = 300;

/**
 * A toolbar with the filter field (and whatever the page puts beside it), then the error of
 * the last request, if any. `onQuery` gets the trimmed text once typing pauses.
 *
 * @param {{label: string, placeholder: string, help: string, onQuery: (query: string) => void,
 *   error?: {message: string} | null, children?: any}} props
 */
export function FilterBox({ label, placeholder, help, onQuery, error = null, children }) {
  const [typed, setTyped] = useState("");
  const latest = useRef(onQuery);
  latest.current = onQuery;
  useEffect(() => {
    const t = setTimeout(() => latest.current(typed.trim()), FILTER_DELAY_MS);
    return () => clearTimeout(t);
  }, [typed]);
  return html`<div class="rw-toolbar">
      <input class="rw-filter rw-filter-wide" type="search" aria-label=${label}
        placeholder=${placeholder} title=${help}
        value=${typed} onInput=${(/** @type {any} */ e) => setTyped(e.currentTarget.value)} />
      ${children}
    </div>
    ${error ? html`<div class="rw-invalid" role="status">${error.message}</div>` : null}`;
}
