// anywidget entry point: render the app into the output cell and wire the protocol.
import { render } from "preact";
import { html } from "./html.js";
import { createRpc } from "./rpc.js";
import { App } from "./views/app.js";
import "./styles.css";
import "./admin.css";
import "./runs.css";

const HEARTBEAT_MS = 10000;

/** @type {import("@anywidget/types").Render<{route: string, revision: number, user: string}>} */
function renderWidget({ model, el }) {
  el.classList.add("rw-root");
  // The number of requests in flight, for the "Working…" indicator. Listeners are Preact
  // state setters: updates are batched, never a synchronous re-render inside a request.
  /** @type {{count: number, listeners: Set<(n: number) => void>}} */
  const busy = { count: 0, listeners: new Set() };
  const rpc = createRpc(/** @type {any} */ (model), {
    onBusyChange: (n) => {
      busy.count = n;
      for (const listener of busy.listeners) listener(n);
    },
  });
  render(html`<${App} model=${model} invoke=${rpc.invoke} busy=${busy} />`, el);
  // The same request helper for the browser console (and the browser tests): a request sent
  // from here is checked by the kernel exactly like one sent by a button.
  Object.defineProperty(el, "rwInvoke", { value: rpc.invoke, configurable: true });
  // Tell the kernel this view is open, and keep telling it: while a view is alive the kernel
  // watches the store for changes made by other processes. A tab closed without a goodbye
  // simply stops the heartbeat.
  const view = Math.random().toString(36).slice(2);
  const beat = (/** @type {boolean} */ open) => {
    try {
      model.send({ kind: "view", view, open });
    } catch {
      // the comm is already gone
    }
  };
  beat(true);
  const heartbeat = setInterval(() => beat(true), HEARTBEAT_MS);
  return () => {
    clearInterval(heartbeat);
    beat(false);
    rpc.dispose();
    render(null, el);
  };
}

export default { render: renderWidget };
