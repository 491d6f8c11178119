// The app shell: back/forward, breadcrumbs, search box, busy indicator, and the current page.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { html } from "../html.js";
import { breadcrumbs, NavHistory, parseRoute, searchRoute } from "../router.js";
import { COMM_GONE, KERNEL_GONE, SERVER_RECONNECTING } from "../rpc.js";
import { ArtifactsPage } from "./artifacts.js";
import { CollectionPage } from "./collection.js";
import { Ctx, Spinner } from "./common.js";
import { ComparePage } from "./compare.js";
import { HistoryPage } from "./history.js";
import { OrgPage } from "./org.js";
import { RegistriesPage } from "./registries.js";
import { RegistryPage } from "./registry.js";
import { RunPage, RunsPage } from "./runs.js";
import { SearchPage } from "./search.js";
import { SettingsPage } from "./settings.js";
import { VersionPage } from "./version.js";

const TOAST_MS = 4000;
/** How long a page opened from the widget may take to draw its heading and still get the focus. */
const NAV_FOCUS_MS = 10000;

/** @param {{route: string}} props */
function Page({ route }) {
  const r = parseRoute(route);
  switch (r.page) {
    case "registry":
      return html`<${RegistryPage} key=${route} name=${r.registry} />`;
    case "collection":
      return html`<${CollectionPage} key=${route} path=${`${r.registry}/${r.collection}`} />`;
    case "version":
      return html`<${VersionPage} key=${route} path=${`${r.registry}/${r.collection}:${r.selector}`} />`;
    case "search":
      return html`<${SearchPage} key=${route} query=${r.query} />`;
    case "settings":
      return html`<${SettingsPage} key=${route} name=${r.registry} />`;
    case "history":
      return html`<${HistoryPage} key=${route} target=${r.target} />`;
    case "compare":
      return html`<${ComparePage} key=${route} path=${r.collection} />`;
    case "org":
      return html`<${OrgPage} />`;
    case "artifacts":
      return html`<${ArtifactsPage} />`;
    case "runs":
      return html`<${RunsPage} />`;
    case "run":
      return html`<${RunPage} key=${route} id=${r.id} />`;
    default:
      return html`<${RegistriesPage} />`;
  }
}

/**
 * Subscribe to one model trait as Preact state.
 *
 * @param {any} model
 * @param {string} name
 */
function useTrait(model, name) {
  const [value, setValue] = useState(() => model.get(name));
  useEffect(() => {
    const cb = () => setValue(model.get(name));
    model.on(`change:${name}`, cb);
    // A change that arrived between the first render and this subscription would
    // otherwise be missed (e.g. w.open(...) in the cell right after the display).
    cb();
    return () => model.off(`change:${name}`, cb);
  }, [model, name]);
  return value;
}

/**
 * @param {{model: any, invoke: (m: string, p?: any, o?: {timeoutMs?: number}) => Promise<any>,
 *   busy: {count: number, listeners: Set<(n: number) => void>}}} props
 */
export function App({ model, invoke, busy }) {
  const route = useTrait(model, "route") ?? "";
  const revision = useTrait(model, "revision") ?? 0;
  const user = useTrait(model, "user") ?? "";
  const reconnecting = useTrait(model, "connection") === "reconnecting";
  const history = useRef(new NavHistory(route));
  const [, redraw] = useState(0);
  const [query, setQuery] = useState("");
  const [slow, setSlow] = useState(false);
  const [pending, setPending] = useState(busy.count);
  const [inline, setInline] = useState(/** @type {string | null} */ (null));
  const [gone, setGone] = useState(false);
  useEffect(() => {
    const cb = () => setGone(true);
    model.on(COMM_GONE, cb);
    return () => model.off(COMM_GONE, cb);
  }, [model]);
  const [toasts, setToasts] = useState(/** @type {{id: number, text: string}[]} */ ([]));
  const toastSeq = useRef(0);

  useEffect(() => {
    busy.listeners.add(setPending);
    return () => busy.listeners.delete(setPending);
  }, [busy]);

  // A route set from a cell (w.route = ... / w.open(...)) is a visit like a click. A new
  // page starts with no inline form open and an empty search box.
  useEffect(() => {
    history.current.push(route);
    setInline(null);
    const r = parseRoute(route);
    setQuery(r.page === "search" ? r.query : "");
    redraw((n) => n + 1);
  }, [route]);

  // Show "Working…" only when a request takes noticeably long.
  useEffect(() => {
    if (pending === 0) {
      setSlow(false);
      return undefined;
    }
    const t = setTimeout(() => setSlow(true), 400);
    return () => clearTimeout(t);
  }, [pending]);

  // A page opened from inside the widget (a link, Enter on a card, back, search) takes the
  // focus on its heading once it is drawn, so the keyboard goes on from there; a route
  // set from a cell leaves the focus where it is.
  const body = useRef(/** @type {HTMLDivElement | null} */ (null));
  const focusHeading = useRef(false);
  useEffect(() => {
    const root = body.current;
    if (!focusHeading.current || !root) return undefined;
    const focus = () => {
      const heading = /** @type {HTMLElement | null} */ (root.querySelector(".rw-page-head h2"));
      if (!heading) return false;
      focusHeading.current = false;
      heading.focus();
      return true;
    };
    if (focus()) return undefined;
    const watch = new MutationObserver(() => focus() && watch.disconnect());
    watch.observe(root, { childList: true, subtree: true });
    const stop = setTimeout(() => watch.disconnect(), NAV_FOCUS_MS);
    return () => {
      watch.disconnect();
      clearTimeout(stop);
    };
  }, [route]);

  /** @param {string} to */
  function show(to) {
    focusHeading.current = to !== route;
    model.set("route", to);
    model.save_changes();
  }
  /** @param {string} text */
  function notify(text) {
    toastSeq.current += 1;
    const id = toastSeq.current;
    setToasts((list) => [...list.slice(-2), { id, text }]);
    setTimeout(() => setToasts((list) => list.filter((t) => t.id !== id)), TOAST_MS);
  }
  const ctx = useMemo(
    () => ({ invoke, revision, user, navigate: show, inline, setInline, notify }),
    [invoke, revision, user, model, inline],
  );
  // A path typed into search ("Vision/cats", "Vision/cats:v3") opens it; anything else
  // lists what matches.
  async function search() {
    const text = query.trim();
    if (!text) return;
    const found = await invoke("search.open", { text }).catch(() => null);
    ctx.navigate(found?.route ?? searchRoute(text));
  }
  const nav = history.current;
  const crumbs = breadcrumbs(route);

  return html`<${Ctx.Provider} value=${ctx}>
    <div class="rw-app">
      <div class="rw-header">
        <button class="rw-btn rw-btn-plain" aria-label="Back" title="Back" disabled=${!nav.canBack}
          onClick=${() => {
            const to = nav.back();
            if (to !== null) show(to);
          }}>←</button>
        <button class="rw-btn rw-btn-plain" aria-label="Forward" title="Forward" disabled=${!nav.canForward}
          onClick=${() => {
            const to = nav.forward();
            if (to !== null) show(to);
          }}>→</button>
        <nav class="rw-crumbs" aria-label="Breadcrumbs">
          ${crumbs.map((c, i) =>
            i === crumbs.length - 1
              ? html`<span class="rw-crumb rw-crumb-current" aria-current="page">${c.label}</span>`
              : html`<a class="rw-crumb" href="#" onClick=${(/** @type {Event} */ e) => {
                  e.preventDefault();
                  ctx.navigate(c.route);
                }}>${c.label}</a><span class="rw-crumb-sep">/</span>`,
          )}
        </nav>
        <div class="rw-search" role="search">
          <input type="search" aria-label="Search registries, collections, tags and aliases"
            placeholder="Search names, tags, aliases…" value=${query}
            onInput=${(/** @type {any} */ e) => setQuery(e.currentTarget.value)}
            onKeyDown=${(/** @type {KeyboardEvent} */ e) => {
              // Handle Enter here: the notebook around the widget must not see it.
              if (e.key === "Enter") {
                e.preventDefault();
                e.stopPropagation();
                search();
              }
            }} />
          <button class="rw-btn rw-btn-small" onClick=${search}
            disabled=${!query.trim()}>Search</button>
        </div>
        ${slow ? html`<${Spinner} label="Working…" />` : null}
        <span class="rw-user" title="Acting as this user">${user}</span>
      </div>
      ${gone ? html`<div class="rw-error rw-gone" role="alert"><strong>Disconnected:</strong> ${KERNEL_GONE}</div>` : null}
      ${
        reconnecting
          ? html`<div class="rw-reconnecting" key="reconnecting" role="status" aria-live="polite">
              <${Spinner} label="Reconnecting…" /> <span>${SERVER_RECONNECTING}</span>
            </div>`
          : null
      }
      <div class=${reconnecting ? "rw-body rw-stale" : "rw-body"} key="body" ref=${body}><${Page} route=${route} /></div>
      <div class="rw-toasts" role="status" aria-live="polite">
        ${toasts.map((t) => html`<div class="rw-toast" key=${t.id}>${t.text}</div>`)}
      </div>
    </div>
  <//>`;
}
