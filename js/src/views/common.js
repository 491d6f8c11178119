// Small building blocks shared by the pages.
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useRef, useState } from "preact/hooks";
import { html } from "../html.js";
import { controlName, dialogKeyDown, firstField, formKeyDown, rescueFocus } from "../keyboard.js";
import { renderMarkdown } from "../markdown.js";

/**
 * @typedef {object} AppContext
 * @property {(method: string, params?: Record<string, any>, options?: {timeoutMs?: number}) => Promise<any>} invoke
 * @property {(route: string) => void} navigate
 * @property {number} revision   bumped whenever the store changes
 * @property {string} user
 * @property {string | null} inline  the one inline form open on the page (its id), if any
 * @property {(id: string | null | ((open: string | null) => string | null)) => void} setInline
 * @property {(text: string) => void} notify  a short confirmation of a change that worked
 */

/** @type {import("preact").Context<AppContext>} */
export const Ctx = createContext(/** @type {any} */ (null));

/** @returns {AppContext} */
export function useApp() {
  return useContext(Ctx);
}

/**
 * Fetch `method(params)` and refetch when the params or the store revision change.
 * The previous data stays on screen while a refetch runs, so live updates do not flicker.
 *
 * @param {string} method
 * @param {Record<string, any>} params
 */
export function useRequest(method, params) {
  const { invoke, revision } = useApp();
  const key = JSON.stringify(params);
  const [state, setState] = useState(
    /** @type {{data: any, error: any, loading: boolean}} */ ({
      data: null,
      error: null,
      loading: true,
    }),
  );
  const [nonce, setNonce] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    seq.current += 1;
    const mine = seq.current;
    setState((s) => ({ ...s, loading: true }));
    invoke(method, JSON.parse(key)).then(
      (data) => mine === seq.current && setState({ data, error: null, loading: false }),
      (error) => mine === seq.current && setState({ data: null, error, loading: false }),
    );
  }, [method, key, revision, nonce, invoke]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { ...state, reload };
}

const TITLES = /** @type {Record<string, string>} */ ({
  ValidationError: "Not accepted",
  PermissionDeniedError: "Not allowed",
  ConflictError: "Conflict",
  NotFoundError: "Not found",
  Timeout: "No answer",
  KernelGone: "Disconnected",
});

/** @param {{error: any}} props */
export function ErrorBox({ error }) {
  if (!error) return null;
  const title = TITLES[error.type] ?? "Error";
  return html`<div class="rw-error" role="alert">
    <strong>${title}:</strong> ${String(error.message ?? error)}
  </div>`;
}

/**
 * A user's Markdown (a registry's or collection's description), sanitised, loading nothing
 * remote; "No description" when there is none.
 *
 * @param {{text: string, class?: string}} props
 */
export function Markdown({ text, ...rest }) {
  if (!text) return html`<p class=${`rw-muted ${rest.class ?? ""}`}>No description.</p>`;
  return html`<div class=${`rw-markdown ${rest.class ?? ""}`}
    dangerouslySetInnerHTML=${{ __html: renderMarkdown(text) }}></div>`;
}

/** @param {{label?: string}} props */
export function Spinner({ label = "Working…" }) {
  return html`<span class="rw-spinner" role="status"><span class="rw-spin"></span>${label}</span>`;
}

/** @param {{children: any, kind?: string, title?: string}} props */
export function Chip({ children, kind = "", title }) {
  return html`<span class=${`rw-chip ${kind}`} title=${title}>${children}</span>`;
}

/**
 * The head of a page: its title, the chips beside it, a spinner while it refreshes, links to
 * the page's tools, and its main action, in that order on every page.
 *
 * @param {{title: any, loading?: boolean, tools?: any, action?: any, children?: any}} props
 */
export function PageHead({ title, loading = false, tools = null, action = null, children }) {
  return html`<div class="rw-page-head">
    <h2 tabindex="-1">${title}</h2>
    ${children}
    ${loading ? html`<${Spinner} label="" />` : null}
    ${tools ? html`<span class="rw-head-tools">${tools}</span>` : null}
    ${action}
  </div>`;
}

/** @param {{route: string, children: any, title?: string}} props */
export function Link({ route, children, title }) {
  const { navigate } = useApp();
  return html`<a
    class="rw-link"
    href="#"
    title=${title}
    onClick=${(/** @type {Event} */ e) => {
      e.preventDefault();
      navigate(route);
    }}
    >${children}</a
  >`;
}

/**
 * Copy text to the clipboard; falls back to a hidden textarea where the API is unavailable.
 *
 * @param {string} text
 */
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

/** @param {{code: string}} props */
export function Snippet({ code }) {
  const [copied, setCopied] = useState("");
  return html`<div class="rw-snippet">
    <pre><code>${code}</code></pre>
    <button
      class="rw-btn rw-btn-small"
      onClick=${async () => setCopied((await copyText(code)) ? "Copied" : "Copy failed")}
    >
      ${copied || "Copy"}
    </button>
  </div>`;
}

/**
 * A modal dialog: focuses its first field, keeps Tab inside, closes on Escape or a click
 * outside, and gives focus back to where it was when it opened.
 *
 * @param {{title: string, onClose: () => void, children: any}} props
 */
export function Dialog({ title, onClose, children }) {
  const ref = useRef(/** @type {HTMLDivElement | null} */ (null));
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const opener = /** @type {HTMLElement | null} */ (document.activeElement);
    if (ref.current) firstField(ref.current)?.focus();
    return () => {
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return html`<div class="rw-overlay" onClick=${(/** @type {Event} */ e) =>
    e.target === e.currentTarget && onClose()}>
    <div class="rw-dialog" role="dialog" aria-modal="true" aria-label=${title} ref=${ref}
      onKeyDown=${(/** @type {KeyboardEvent} */ e) =>
        ref.current && dialogKeyDown(e, ref.current, () => close.current())}>
      <div class="rw-dialog-head">
        <h3>${title}</h3>
        <button type="button" class="rw-btn rw-btn-plain" aria-label="Close" onClick=${onClose}>✕</button>
      </div>
      ${children}
    </div>
  </div>`;
}

/**
 * A form that works inside a notebook: Enter in a field submits it, Escape cancels it
 * (when it can be cancelled), and with `autoFocus` its first field has focus when it opens.
 *
 * @param {{onSubmit: (e: Event) => any, onCancel?: () => void, autoFocus?: boolean,
 *   label?: string, class?: string, children: any, role?: string}} props
 */
export function Form({ onSubmit, onCancel, autoFocus, label, children, role, ...rest }) {
  const ref = useRef(/** @type {HTMLFormElement | null} */ (null));
  useEffect(() => {
    if (!autoFocus || !ref.current) return undefined;
    // An inline form opened by a control: when it closes (saved or cancelled), the focus
    // goes back to that control, drawn again where the form was.
    const opener = controlName(document.activeElement);
    const host = ref.current.parentElement;
    firstField(ref.current)?.focus();
    return () => setTimeout(() => rescueFocus(host, opener), 0);
  }, [autoFocus]);
  return html`<form class=${rest.class ?? "rw-form"} aria-label=${label} role=${role} ref=${ref}
    onSubmit=${(/** @type {Event} */ e) => {
      e.preventDefault();
      onSubmit(e);
    }}
    onKeyDown=${(/** @type {KeyboardEvent} */ e) => formKeyDown(e, onCancel)}>${children}</form>`;
}

/**
 * Whether the inline form `id` is the one open on the page; opening one closes the other.
 *
 * @param {string} id
 * @returns {[boolean, () => void, () => void]} open?, open it, close it
 */
export function useInline(id) {
  const { inline, setInline } = useApp();
  const open = inline === id;
  return [
    open,
    () => setInline(id),
    () => setInline((current) => (current === id ? null : current)),
  ];
}

/**
 * Page controls for an offset/limit list.
 *
 * @param {{offset: number, limit: number, total: number, onChange: (offset: number) => void,
 *   jump?: boolean}} props
 */
export function Pager({ offset, limit, total, onChange, jump = false }) {
  const [typed, setTyped] = useState("");
  if (total <= limit) return null;
  const last = Math.min(offset + limit, total);
  const pages = Math.ceil(total / limit);
  const page = Math.floor(offset / limit) + 1;
  function go() {
    const n = Number.parseInt(typed, 10);
    if (Number.isFinite(n)) onChange((Math.min(Math.max(n, 1), pages) - 1) * limit);
    setTyped("");
  }
  return html`<div class="rw-pager">
    <button class="rw-btn rw-btn-small" disabled=${offset === 0}
      onClick=${() => onChange(Math.max(0, offset - limit))}>‹ Newer</button>
    <span>${offset + 1}–${last} of ${total}</span>
    <button class="rw-btn rw-btn-small" disabled=${last >= total}
      onClick=${() => onChange(offset + limit)}>Older ›</button>
    ${
      jump
        ? html`<${Form} class="rw-inline-form rw-jump" label="Go to page" onSubmit=${go}>
          <label>Page <input type="number" min="1" max=${pages} aria-label="Page number"
            placeholder=${String(page)} value=${typed}
            onInput=${(/** @type {any} */ e) => setTyped(e.currentTarget.value)} /> of ${pages}</label>
          <button type="submit" class="rw-btn rw-btn-small" disabled=${!typed}>Go</button>
        <//>`
        : null
    }
  </div>`;
}

/**
 * Run an action: tracks busy state and the refusal to show next to the control.
 *
 * @returns {{busy: boolean, error: any, run: (fn: () => Promise<any>) => Promise<any>, clear: () => void}}
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(/** @type {any} */ (null));
  const run = useCallback(async (/** @type {() => Promise<any>} */ fn) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(null) };
}

/** A small padlock, drawn in the current text colour (no emoji font needed). */
export function LockIcon() {
  return html`<svg class="rw-lock" viewBox="0 0 16 16" width="11" height="11" aria-label="protected">
    <path fill="currentColor" d="M4 7V5a4 4 0 1 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 1 0-4 0v2z" />
  </svg>`;
}
