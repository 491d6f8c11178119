import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createRpc, RpcError } from "../src/rpc.js";

/** A stand-in for the anywidget model: records what is sent, lets the test reply. */
function fakeModel() {
  /** @type {any[]} */
  const sent = [];
  /** @type {Map<string, Set<(msg: any) => void>>} */
  const handlers = new Map();
  const of = (/** @type {string} */ e) => {
    if (!handlers.has(e)) handlers.set(e, new Set());
    return /** @type {Set<(msg: any) => void>} */ (handlers.get(e));
  };
  return {
    sent,
    send: (/** @type {any} */ msg) => sent.push(msg),
    on: (/** @type {string} */ e, /** @type {any} */ cb) => of(e).add(cb),
    off: (/** @type {string} */ e, /** @type {any} */ cb) => of(e).delete(cb),
    reply: (/** @type {any} */ msg) => {
      for (const h of of("msg:custom")) h(msg);
    },
    emit: (/** @type {string} */ e) => {
      for (const h of of(e)) h(undefined);
    },
    handlerCount: () => [...handlers.values()].reduce((n, set) => n + set.size, 0),
  };
}

describe("createRpc", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("sends a request with a unique id and resolves with the result", async () => {
    const model = fakeModel();
    const rpc = createRpc(model);
    const a = rpc.invoke("registries.list", { x: 1 });
    const b = rpc.invoke("search", { text: "cat" });
    expect(model.sent).toHaveLength(2);
    expect(model.sent[0]).toMatchObject({
      kind: "request",
      method: "registries.list",
      params: { x: 1 },
    });
    expect(model.sent[0].id).not.toBe(model.sent[1].id);
    model.reply({ kind: "response", id: model.sent[1].id, ok: true, result: "B" });
    model.reply({ kind: "response", id: model.sent[0].id, ok: true, result: "A" });
    await expect(a).resolves.toBe("A");
    await expect(b).resolves.toBe("B");
    expect(rpc.pendingCount()).toBe(0);
  });

  it("rejects with the error envelope's type, message and field", async () => {
    const model = fakeModel();
    const rpc = createRpc(model);
    const p = rpc.invoke("registry.create", { name: "a/b" });
    model.reply({
      kind: "response",
      id: model.sent[0].id,
      ok: false,
      error: { type: "ValidationError", message: "name 'a/b' may not contain '/'", field: "name" },
    });
    const err = await p.catch((e) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err.type).toBe("ValidationError");
    expect(err.message).toContain("may not contain");
    expect(err.field).toBe("name");
  });

  it("keeps a worded refusal's code and the library's message for code", async () => {
    const model = fakeModel();
    const rpc = createRpc(model);
    const p = rpc.invoke("registry.create", { name: "a/b" });
    const detail = "registry name 'a/b' contains '/' (U+002F) at position 1";
    model.reply({
      kind: "response",
      id: model.sent[0].id,
      ok: false,
      error: {
        type: "ValidationError",
        message: "The registry name “a/b” cannot contain “/”.",
        field: "registry name",
        code: "bad_character",
        detail,
      },
    });
    const err = await p.catch((e) => e);
    expect(err.message).toBe("The registry name “a/b” cannot contain “/”.");
    expect([err.code, err.detail]).toEqual(["bad_character", detail]);
  });

  it("times out with a message in words, and ignores a late answer", async () => {
    const model = fakeModel();
    const rpc = createRpc(model, { timeoutMs: 1000 });
    const p = rpc.invoke("slow");
    vi.advanceTimersByTime(1001);
    const err = await p.catch((e) => e);
    expect(err.type).toBe("Timeout");
    expect(err.message).toMatch(/did not answer "slow" within 1 s/);
    model.reply({ kind: "response", id: model.sent[0].id, ok: true, result: 1 });
    expect(rpc.pendingCount()).toBe(0);
  });

  it("ignores messages that are not responses", () => {
    const model = fakeModel();
    const rpc = createRpc(model);
    rpc.invoke("x");
    model.reply({ kind: "changed" });
    model.reply(null);
    expect(rpc.pendingCount()).toBe(1);
  });

  it("reports the number of pending requests and rejects them on dispose", async () => {
    const model = fakeModel();
    /** @type {number[]} */
    const counts = [];
    const rpc = createRpc(model, { onBusyChange: (n) => counts.push(n) });
    const p = rpc.invoke("x");
    rpc.dispose();
    await expect(p).rejects.toMatchObject({ type: "Closed" });
    expect(counts[0]).toBe(1);
    expect(model.handlerCount()).toBe(0);
  });

  it("says the kernel is gone when the widget manager marks the comm dead", async () => {
    const model = fakeModel();
    const rpc = createRpc(model);
    const waiting = rpc.invoke("registries.list");
    model.emit("comm_live_update");
    await expect(waiting).rejects.toMatchObject({ type: "KernelGone" });
    await expect(rpc.invoke("search")).rejects.toThrow(/Re-run the cell/);
    expect(rpc.pendingCount()).toBe(0);
  });

  it("turns a failing send into a rejection", async () => {
    const model = fakeModel();
    model.send = () => {
      throw new Error("comm closed");
    };
    const rpc = createRpc(model);
    const refusal = rpc.invoke("x");
    await expect(refusal).rejects.toMatchObject({ type: "KernelGone" });
    // Words for a person: what happened and what to do, not the comm's exception.
    await expect(refusal).rejects.toThrow(/restarted or shut down.*Re-run the cell/);
    await expect(refusal).rejects.not.toThrow(/comm closed|Cannot send/);
    expect(rpc.pendingCount()).toBe(0);
  });
});
