// One request/response protocol between the frontend and the kernel.
//
// request  (JS -> Python): {kind: "request", id, method, params}
// response (Python -> JS): {kind: "response", id, ok: true, result}
//                          {kind: "response", id, ok: false, error: {type, message, field, code, detail}}
// A refusal's `message` is already worded for the person using the widget (the kernel words
// the common refusals in one place); `detail` keeps the library's message for code.
// Python may also send {kind: "changed"}; it is not a response and is ignored here.

// What a person needs to know when the kernel behind the widget is gone (restarted or shut
// down): the comm cannot send any more, and this output will never answer again.
export const KERNEL_GONE =
  "This widget lost its kernel (it was restarted or shut down), so it cannot load or change " +
  "anything. Re-run the cell that displays it to get a working widget.";

// What a person needs to know while the store's server cannot be reached (the widget's
// "connection" trait is "reconnecting"): changes made elsewhere are not shown meanwhile.
export const SERVER_RECONNECTING =
  "The registry's server cannot be reached, so changes made elsewhere are not shown. " +
  "This page refreshes by itself when the connection is back.";

/** The model event the widget manager sends when the kernel behind a widget goes away. */
export const COMM_GONE = "comm_live_update";

/** A refusal or failure reported for one request, in words. */
export class RpcError extends Error {
  /**
   * @param {string} type e.g. "ValidationError", "PermissionDeniedError", "Timeout"
   * @param {string} message human-readable explanation
   * @param {string | null} [field] the offending field, when there is one
   * @param {string | null} [code] the kind of a common refusal, worded by the kernel
   * @param {string | null} [detail] the library's own message (for code), when it was worded
   */
  constructor(type, message, field = null, code = null, detail = null) {
    super(message);
    this.name = "RpcError";
    this.type = type;
    this.field = field;
    this.code = code;
    this.detail = detail;
  }
}

/**
 * @typedef {object} ModelLike
 * @property {(content: any) => void} send
 * @property {(event: string, cb: (msg: any) => void) => void} on
 * @property {(event: string, cb: (msg: any) => void) => void} off
 */

/**
 * Create the `invoke(method, params)` helper over an anywidget model.
 *
 * @param {ModelLike} model
 * @param {{timeoutMs?: number, onBusyChange?: (pending: number) => void}} [options]
 */
export function createRpc(model, options = {}) {
  const timeoutMs = options.timeoutMs ?? 30000;
  const onBusyChange = options.onBusyChange ?? (() => {});
  /** @type {Map<string, {resolve: (v: any) => void, reject: (e: Error) => void, timer: any}>} */
  const pending = new Map();
  let counter = 0;

  /** @param {any} msg */
  function onMessage(msg) {
    if (msg?.kind !== "response" || typeof msg.id !== "string") return;
    const entry = pending.get(msg.id);
    if (!entry) return; // answered after its timeout: nobody is waiting any more
    pending.delete(msg.id);
    clearTimeout(entry.timer);
    onBusyChange(pending.size);
    if (msg.ok) {
      entry.resolve(msg.result);
    } else {
      const err = msg.error ?? {};
      entry.reject(
        new RpcError(
          String(err.type ?? "Error"),
          String(err.message ?? "The request failed."),
          err.field ?? null,
          err.code ?? null,
          err.detail ?? null,
        ),
      );
    }
  }
  model.on("msg:custom", onMessage);

  // The widget manager marks every widget's comm dead when its kernel restarts or dies
  // ("comm_live_update"): nothing sent from here will be answered any more.
  let gone = false;
  function onGone() {
    gone = true;
    for (const entry of pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(new RpcError("KernelGone", KERNEL_GONE));
    }
    pending.clear();
    onBusyChange(0);
  }
  model.on(COMM_GONE, onGone);

  /**
   * Send a request; resolves with its result or rejects with an RpcError.
   *
   * @param {string} method
   * @param {Record<string, any>} [params]
   * @param {{timeoutMs?: number}} [options] a longer wait for long work (a large download)
   * @returns {Promise<any>}
   */
  function invoke(method, params = {}, options = {}) {
    const wait = options.timeoutMs ?? timeoutMs;
    counter += 1;
    const id = `${Date.now().toString(36)}-${counter}`;
    if (gone) return Promise.reject(new RpcError("KernelGone", KERNEL_GONE));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        onBusyChange(pending.size);
        reject(
          new RpcError(
            "Timeout",
            `The kernel did not answer "${method}" within ${Math.round(wait / 1000)} s. ` +
              "It may be busy running a cell: try again when it is idle. If it was restarted, " +
              "re-run the cell that displays the widget.",
          ),
        );
      }, wait);
      pending.set(id, { resolve, reject, timer });
      onBusyChange(pending.size);
      try {
        model.send({ kind: "request", id, method, params });
      } catch {
        pending.delete(id);
        clearTimeout(timer);
        onBusyChange(pending.size);
        reject(new RpcError("KernelGone", KERNEL_GONE));
      }
    });
  }

  function dispose() {
    model.off("msg:custom", onMessage);
    model.off(COMM_GONE, onGone);
    for (const entry of pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(new RpcError("Closed", "The widget was closed."));
    }
    pending.clear();
  }

  return { invoke, dispose, pendingCount: () => pending.size };
}
