// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import widget from "../src/index.js";

/** A model whose kernel answers each method with a fixed result (or refuses with an Error). */
function fakeModel(route, answers) {
  const handlers = new Map();
  const state = { route, revision: 0, user: "bob" };
  const model = {
    requests: [],
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
      model.requests.push(msg);
      const answer = answers[msg.method];
      const reply =
        answer instanceof Error
          ? { ok: false, error: { type: answer.name, message: answer.message } }
          : { ok: true, result: answer ?? { ok: true } };
      setTimeout(() => {
        for (const cb of handlers.get("msg:custom") ?? [])
          cb({ kind: "response", id: msg.id, ...reply });
      }, 5);
    },
  };
  return model;
}

const tick = (ms = 60) => new Promise((r) => setTimeout(r, ms));

function settings(role) {
  const admin = role === "admin";
  return {
    registry: {
      name: "Vision <b>team</b>",
      kind: "custom",
      description: "<img src=x onerror=alert(1)>",
      visibility: "organization",
      artifact_types: ["model"],
      protected_aliases: ["production"],
      role,
    },
    user: "bob",
    role,
    org_role: "member",
    can: {
      admin,
      write: admin || role === "member",
      edit: admin,
      restrict: admin,
      delete: admin,
    },
    types: [{ name: "model", used_by: ["cats"], fixed: false }],
    members: [{ user: "Bob", role, effective_role: role, you: true }],
    candidates: admin ? ["carol"] : [],
    roles: ["restricted_viewer", "viewer", "member", "admin"],
  };
}

const buttons = (el) => [...el.querySelectorAll("button")].map((b) => b.textContent.trim());

describe("the settings page", () => {
  it("shows a viewer the settings without a single control, and their own role", async () => {
    const model = fakeModel("?settings=Vision", { "settings.get": settings("viewer") });
    const el = document.createElement("div");
    const cleanup = widget.render({ model, el });
    await tick();
    expect(el.querySelector("h2").textContent).toBe("Settings of Vision <b>team</b>");
    expect(el.querySelector("h2 b")).toBeNull();
    expect(el.querySelector("img")).toBeNull();
    expect(el.querySelector("[data-testid=own-role]").textContent).toContain(
      "effective role viewer",
    );
    expect(el.querySelector("[role=note]").textContent).toContain("yours is viewer");
    // Which member is the user is the kernel's answer, whatever the spelling of the name.
    expect(el.querySelector("[data-testid=own-role]").textContent).toContain(
      "registry role viewer",
    );
    expect(el.querySelector("[data-member=Bob]").textContent).toContain("(you)");
    const shown = buttons(el);
    for (const control of ["Save", "Remove", "Add type", "Protect", "Restrict to members…"]) {
      expect(shown).not.toContain(control);
    }
    expect(el.querySelectorAll("select, textarea").length).toBe(0);
    cleanup();
  });

  it("gives an admin every control and shows a refusal under the control used", async () => {
    const refusal = new Error("type 'model' is used by collections ['cats'] of registry 'Vision'");
    refusal.name = "ConflictError";
    const model = fakeModel("?settings=Vision", {
      "settings.get": settings("admin"),
      "registry.type.remove": refusal,
    });
    const el = document.createElement("div");
    document.body.appendChild(el);
    const cleanup = widget.render({ model, el });
    await tick();
    expect(buttons(el)).toEqual(
      expect.arrayContaining(["Save", "Add type", "Protect", "Add member", "Restrict to members…"]),
    );
    el.querySelector("[aria-label='Remove type model']").click();
    await tick();
    const types = el.querySelector("[data-section=types]");
    expect(types.querySelector("[role=alert]").textContent).toContain(
      "Conflict: type 'model' is used by collections ['cats']",
    );
    expect(el.querySelectorAll("[role=alert]").length).toBe(1);
    const restrict = [...el.querySelectorAll("button")].find((b) =>
      b.textContent.includes("Restrict to members"),
    );
    restrict.click();
    await tick();
    expect(
      el.querySelector("[aria-label='Confirm restricting']").textContent.replace(/\s+/g, " "),
    ).toContain("This cannot be switched back to organization");
    cleanup();
    el.remove();
  });

  it("shows the name, visibility and delete controls by the kernel's flags alone", async () => {
    const answer = settings("admin");
    answer.can = { ...answer.can, edit: false, restrict: false, delete: false };
    const model = fakeModel("?settings=Vision", { "settings.get": answer });
    const el = document.createElement("div");
    const cleanup = widget.render({ model, el });
    await tick();
    const shown = buttons(el);
    expect(shown).toEqual(expect.arrayContaining(["Add type", "Protect", "Add member"]));
    for (const control of ["Save", "Restrict to members…", "Delete registry…"]) {
      expect(shown).not.toContain(control);
    }
    cleanup();
  });
});

describe("the history page", () => {
  it("asks for the kind of change chosen and pages from the first entry", async () => {
    const page = {
      items: [
        {
          at: "2026-01-01T00:00:00Z",
          user: "ada",
          action: "alias.set",
          target: "R/c:v1",
          before: null,
          after: "production → R/c:v1",
        },
      ],
      total: 60,
      offset: 0,
      limit: 25,
      kinds: ["registry", "alias"],
    };
    const model = fakeModel("?history=R%2Fc", { "history.get": page });
    const el = document.createElement("div");
    const cleanup = widget.render({ model, el });
    await tick();
    // whose history it is (registry, collection, version) is read from the path in Python
    expect(model.requests[0].params).toEqual({ path: "R/c", kind: null, offset: 0, limit: 25 });
    expect(el.querySelector("tbody tr").textContent).toContain("set an alias");
    expect(el.querySelector(".rw-pager").textContent).toContain("1–25 of 60");
    const select = el.querySelector("select[aria-label='Kind of change']");
    select.value = "alias";
    select.dispatchEvent(new Event("change", { bubbles: true }));
    await tick();
    expect(model.requests.at(-1).params).toMatchObject({ kind: "alias", offset: 0 });
    cleanup();
  });
});

describe("the comparison page", () => {
  const XSS = "<img src=x onerror=alert(1)>";
  const version = (i, value, aliases = []) => ({
    version: `v${i}`,
    index: i,
    path: `R/c:v${i}`,
    aliases,
    created_at: "2026-01-01T00:00:00Z",
    metadata: { [XSS]: value, note: XSS },
  });

  it("charts user-named metrics and aliases as text, with the selected versions marked", async () => {
    const answer = {
      path: "R/c",
      total: 3,
      shown: 3,
      versions: [
        version(0, 1),
        version(1, 2, [{ name: XSS, protected: true }]),
        version(2, 4, [{ name: "latest", protected: false }]),
      ],
    };
    const model = fakeModel("?compare=R%2Fc", { "compare.get": answer });
    const el = document.createElement("div");
    const cleanup = widget.render({ model, el });
    await tick();
    expect(el.querySelector("img")).toBeNull();
    const chart = el.querySelector(".rw-chart");
    expect(chart.querySelector("figcaption").textContent).toBe(XSS);
    expect(chart.querySelector(".rw-chart-protected text").textContent).toBe(
      `${XSS.slice(0, 21)}…`,
    );
    // The newest two, one of which holds the protected alias.
    expect(chart.querySelectorAll(".rw-chart-selected").length).toBe(2);
    const rows = [...el.querySelectorAll(".rw-compare-table tbody tr")];
    expect(rows.map((r) => r.dataset.differs)).toEqual(["true", "false"]);
    chart
      .querySelector("circle[data-version='v0']")
      .dispatchEvent(new Event("click", { bubbles: true }));
    await tick();
    expect(chart.querySelectorAll(".rw-chart-selected").length).toBe(3);
    expect(el.querySelectorAll(".rw-compare-table thead th").length).toBe(4);
    cleanup();
  });
});

describe("the organization page", () => {
  const org = {
    user: "ada",
    role: "admin",
    can: { manage_users: true },
    roles: ["viewer", "member", "admin"],
    users: [
      { name: "ada", role: "admin", created_at: "2026-01-01T00:00:00.000000Z", you: true },
      { name: "bob", role: "member", created_at: "2026-01-01T00:00:00.000000Z", you: false },
    ],
  };

  it("lets an admin remove another user, never themselves, and says so", async () => {
    const model = fakeModel("?org", {
      "org.get": org,
      "org.user.remove": { ok: true },
    });
    const el = document.createElement("div");
    document.body.appendChild(el);
    const cleanup = widget.render({ model, el });
    await tick();
    expect(el.querySelector("[aria-label='Remove ada from the organization']")).toBeNull();
    el.querySelector("[aria-label='Remove bob from the organization']").click();
    await tick();
    const sent = model.requests.find((r) => r.method === "org.user.remove");
    expect(sent.params).toEqual({ name: "bob" });
    expect(el.textContent).toContain("Removed bob from the organization.");
    cleanup();
    el.remove();
  });

  it("offers a member no removal", async () => {
    const model = fakeModel("?org", {
      "org.get": { ...org, role: "member", can: { manage_users: false } },
    });
    const el = document.createElement("div");
    const cleanup = widget.render({ model, el });
    await tick();
    expect(el.textContent).toContain("bob");
    expect(buttons(el)).not.toContain("Remove");
    cleanup();
  });
});
