import { describe, expect, it } from "vitest";
import { breadcrumbs, formatRoute, NavHistory, parseRoute, searchRoute } from "../src/router.js";

describe("parseRoute", () => {
  it("reads every kind of route", () => {
    expect(parseRoute("")).toEqual({ page: "registries" });
    expect(parseRoute("Models")).toEqual({ page: "registry", registry: "Models" });
    expect(parseRoute("Models/cat-resnet")).toEqual({
      page: "collection",
      registry: "Models",
      collection: "cat-resnet",
    });
    expect(parseRoute("Models/cat-resnet:production")).toEqual({
      page: "version",
      registry: "Models",
      collection: "cat-resnet",
      selector: "production",
    });
    expect(parseRoute("?search=cat%20net")).toEqual({ page: "search", query: "cat net" });
  });

  it("takes a typed % that encodes nothing as written", () => {
    expect(parseRoute("?search=50%")).toEqual({ page: "search", query: "50%" });
    expect(parseRoute("?history=Vision/acc 95%")).toEqual({
      page: "history",
      target: "Vision/acc 95%",
    });
    expect(parseRoute("?search=50%25")).toEqual({ page: "search", query: "50%" });
  });

  it("defaults an empty selector to latest", () => {
    expect(parseRoute("Models/c:")).toMatchObject({ page: "version", selector: "latest" });
  });

  it("keeps unusual characters in names", () => {
    const r = parseRoute("<img src=x>/a b c:v2");
    expect(r).toEqual({
      page: "version",
      registry: "<img src=x>",
      collection: "a b c",
      selector: "v2",
    });
  });

  it("round-trips through formatRoute", () => {
    for (const route of ["", "Models", "Models/x", "Models/x:v3", searchRoute("a/b:c?d")]) {
      expect(formatRoute(parseRoute(route))).toBe(route);
    }
  });
});

describe("breadcrumbs", () => {
  it("lists every level up to the current page", () => {
    expect(breadcrumbs("Models/cat:v1")).toEqual([
      { label: "Registries", route: "" },
      { label: "Models", route: "Models" },
      { label: "cat", route: "Models/cat" },
      { label: "v1", route: "Models/cat:v1" },
    ]);
    expect(breadcrumbs("")).toEqual([{ label: "Registries", route: "" }]);
    expect(breadcrumbs(searchRoute("x")).map((c) => c.label)).toEqual(["Registries", "Search “x”"]);
  });
});

describe("NavHistory", () => {
  it("goes back and forward, and a new visit drops the forward entries", () => {
    const h = new NavHistory("");
    h.push("Models");
    h.push("Models/a");
    expect(h.canForward).toBe(false);
    expect(h.back()).toBe("Models");
    expect(h.back()).toBe("");
    expect(h.back()).toBeNull();
    expect(h.forward()).toBe("Models");
    h.push("Datasets");
    expect(h.canForward).toBe(false);
    expect(h.entries).toEqual(["", "Models", "Datasets"]);
  });

  it("ignores a visit to the current route", () => {
    const h = new NavHistory("Models");
    h.push("Models");
    expect(h.entries).toEqual(["Models"]);
    expect(h.canBack).toBe(false);
  });
});
