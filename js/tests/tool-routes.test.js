import { describe, expect, it } from "vitest";
import { roleLabel } from "../src/roles.js";
import { breadcrumbs, formatRoute, parseRoute } from "../src/router.js";
import { compareRoute, historyRoute, settingsRoute } from "../src/tool-routes.js";

describe("tool routes", () => {
  it("round-trip any registry or collection name", () => {
    for (const route of [
      settingsRoute("Vision team"),
      historyRoute("<img>/a?b=c:v2"),
      compareRoute("Models/cats & dogs"),
      "?org",
    ]) {
      expect(formatRoute(parseRoute(route))).toBe(route);
    }
    expect(parseRoute(historyRoute("R/a?b=c:v2"))).toEqual({
      page: "history",
      target: "R/a?b=c:v2",
    });
  });
  it("leave search and unknown tools alone", () => {
    expect(parseRoute("?search=x").page).toBe("search");
    expect(parseRoute("?bogus=x").page).not.toBe("settings");
  });
  it("have breadcrumbs under the page they belong to", () => {
    expect(breadcrumbs(settingsRoute("Models")).map((c) => c.label)).toEqual([
      "Registries",
      "Models",
      "Settings",
    ]);
    expect(breadcrumbs(historyRoute("Models/cats:v1")).map((c) => c.label)).toEqual([
      "Registries",
      "Models",
      "cats",
      "v1",
      "History",
    ]);
    expect(breadcrumbs("?org").map((c) => c.label)).toEqual(["Registries", "Organization"]);
  });
});

describe("roles", () => {
  it("are put in words; the kernel decides what each may do", () => {
    expect(roleLabel("restricted_viewer")).toBe("restricted viewer");
    expect(roleLabel(null)).toBe("none");
  });
});
