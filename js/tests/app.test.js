// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import widget from "../src/index.js";

/** A model that answers requests like the kernel would, asynchronously. */
function fakeKernelModel(answers, state = { route: "", revision: 0, user: "ada" }) {
  const handlers = new Map();
  const requests = [];
  const model = {
    requests,
    get: (k) => state[k],
    set: (k, v) => {
      state[k] = v;
      for (const cb of handlers.get(`change:${k}`) ?? []) cb();
    },
    save_changes: () => {},
    on: (e, cb) => handlers.set(e, [...(handlers.get(e) ?? []), cb]),
    off: (e, cb) =>
      handlers.set(
        e,
        (handlers.get(e) ?? []).filter((x) => x !== cb),
      ),
    send: (msg) => {
      if (msg.kind !== "request") return;
      requests.push(msg);
      const answer = answers[msg.method];
      setTimeout(() => {
        for (const cb of handlers.get("msg:custom") ?? []) {
          cb(
            answer instanceof Error
              ? {
                  kind: "response",
                  id: msg.id,
                  ok: false,
                  error: { type: answer.name, message: answer.message },
                }
              : { kind: "response", id: msg.id, ok: true, result: answer },
          );
        }
      }, 5);
    },
  };
  return model;
}

const REG = {
  name: "Models",
  kind: "core",
  description: "**bold** <img src=x onerror=alert(1)> ![pixel](https://t.example/p.gif)",
  visibility: "organization",
  artifact_types: ["model"],
  protected_aliases: [],
  role: "admin",
  collection_count: 2,
};

const tick = (ms = 50) => new Promise((r) => setTimeout(r, ms));

/** Wait until `check()` is true (the page answers asynchronously), up to two seconds. */
async function until(check) {
  for (let i = 0; i < 100 && !check(); i += 1) await tick(20);
  expect(check()).toBe(true);
}

describe("the widget", () => {
  it("asks for the registries once and shows their descriptions safely", async () => {
    const model = fakeKernelModel({ "registries.list": { core: [REG], custom: [] } });
    const el = document.createElement("div");
    const cleanup = widget.render({ model, el });
    await tick(100);
    expect(model.requests.map((r) => r.method)).toEqual(["registries.list"]);
    expect(el.querySelector(".rw-card-title").textContent).toBe("Models");
    // The description is Markdown, rendered like a collection's: sanitised, no remote image.
    const desc = el.querySelector(".rw-card-desc");
    expect(desc.querySelector("strong").textContent).toBe("bold");
    expect(desc.querySelector("img")).toBeNull();
    expect(desc.innerHTML).not.toContain("onerror");
    expect(desc.querySelector("a.rw-image-link").getAttribute("href")).toBe(
      "https://t.example/p.gif",
    );
    cleanup();
  });

  it("refetches when the revision changes and navigates when the route changes", async () => {
    const model = fakeKernelModel({
      "registries.list": { core: [REG], custom: [] },
      "registry.get": {
        registry: REG,
        collections: { items: [], total: 0, offset: 0, limit: 50 },
      },
    });
    const el = document.createElement("div");
    const cleanup = widget.render({ model, el });
    await tick();
    model.set("revision", 1);
    await tick();
    expect(model.requests.map((r) => r.method)).toEqual(["registries.list", "registries.list"]);
    model.set("route", "Models");
    await tick();
    expect(model.requests.at(-1)).toMatchObject({
      method: "registry.get",
      params: { name: "Models" },
    });
    expect(el.querySelector(".rw-crumb-current").textContent).toBe("Models");
    cleanup();
  });

  it("shows a refusal in words", async () => {
    const err = new Error("registry 'Nope' not found");
    err.name = "NotFoundError";
    const model = fakeKernelModel(
      { "registry.get": err },
      { route: "Nope", revision: 0, user: "ada" },
    );
    const el = document.createElement("div");
    const cleanup = widget.render({ model, el });
    await tick();
    expect(el.querySelector("[role=alert]").textContent).toContain(
      "Not found: registry 'Nope' not found",
    );
    cleanup();
  });
  it("validates the create-registry form as the user types, with the kernel's words", async () => {
    const model = fakeKernelModel({
      "registries.list": { core: [REG], custom: [], can: { create_registry: true } },
      validate: { ok: false, message: "registry name 'a/b' may not contain '/'" },
    });
    const el = document.createElement("div");
    document.body.appendChild(el);
    const cleanup = widget.render({ model, el });
    await tick();
    const open = [...el.querySelectorAll("button")].find(
      (b) => b.textContent.trim() === "Create registry",
    );
    open.click();
    await tick();
    const input = el.querySelector("#rw-f-name");
    input.value = "a/b";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    await tick(300);
    expect(model.requests.filter((r) => r.method === "validate").at(-1)).toMatchObject({
      method: "validate",
      params: { field: "registry_name", value: "a/b" },
    });
    expect(el.querySelector(".rw-invalid").textContent).toContain("may not contain '/'");
    const submit = el.querySelector("form button[type=submit]");
    expect(submit.disabled).toBe(true);
    cleanup();
    el.remove();
  });

  it("says a name is taken at the field, as the user types", async () => {
    const model = fakeKernelModel({
      "registries.list": { core: [REG], custom: [], can: { create_registry: true } },
      validate: { ok: true },
      "name.free": { ok: false, message: "a registry named 'Models' already exists" },
    });
    const el = document.createElement("div");
    document.body.appendChild(el);
    const cleanup = widget.render({ model, el });
    await tick();
    [...el.querySelectorAll("button")]
      .find((b) => b.textContent.trim() === "Create registry")
      .click();
    await until(() => el.querySelector("#rw-f-name") !== null);
    const input = el.querySelector("#rw-f-name");
    input.value = "models";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    await until(() => el.querySelector(".rw-invalid") !== null);
    expect(el.querySelector(".rw-invalid").textContent).toContain("already exists");
    expect(el.querySelector("form button[type=submit]").disabled).toBe(true);
    cleanup();
    el.remove();
  });

  it("shows no Create registry button when the kernel says the user may not", async () => {
    const model = fakeKernelModel({
      "registries.list": { core: [REG], custom: [], can: { create_registry: false } },
    });
    const el = document.createElement("div");
    const cleanup = widget.render({ model, el });
    await tick();
    const labels = [...el.querySelectorAll("button")].map((b) => b.textContent.trim());
    expect(labels).not.toContain("Create registry");
    cleanup();
  });

  it("focuses the form's first field when it opens and submits it on Enter", async () => {
    const model = fakeKernelModel({
      "registries.list": { core: [REG], custom: [], can: { create_registry: true } },
      validate: { ok: true },
      "name.free": { ok: true },
      "registry.create": { ...REG, name: "Team" },
      "registry.get": { registry: REG, collections: { items: [], total: 0, offset: 0, limit: 50 } },
    });
    const el = document.createElement("div");
    document.body.appendChild(el);
    const cleanup = widget.render({ model, el });
    await tick();
    [...el.querySelectorAll("button")]
      .find((b) => b.textContent.trim() === "Create registry")
      .click();
    await tick();
    const input = el.querySelector("#rw-f-name");
    expect(document.activeElement).toBe(input);
    input.value = "Team";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    await tick(300);
    const notebook = [];
    document.body.addEventListener("keydown", (e) => notebook.push(e.key));
    input.dispatchEvent(
      new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }),
    );
    await until(() => model.requests.some((r) => r.method === "registry.create"));
    expect(notebook).toEqual([]);
    cleanup();
    el.remove();
  });
});
