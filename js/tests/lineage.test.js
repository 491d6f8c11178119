import { describe, expect, it } from "vitest";
import { defaultSelection } from "../src/views/compare.js";
import { layout } from "../src/views/lineage.js";

const DATA = {
  artifact: { ref: "m:v0", type: "model" },
  registries: [
    {
      name: "Models",
      kind: "core",
      visibility: "organization",
      collections: [
        {
          name: "a",
          path: "Models/a",
          links: [{ version: "v0", path: "Models/a:v0", aliases: [] }],
        },
        {
          name: "b",
          path: "Models/b",
          links: [
            { version: "v1", path: "Models/b:v1", aliases: [] },
            { version: "v4", path: "Models/b:v4", aliases: [] },
          ],
        },
      ],
    },
    {
      name: "Zoo",
      kind: "custom",
      visibility: "restricted",
      collections: [
        { name: "c", path: "Zoo/c", links: [{ version: "v2", path: "Zoo/c:v2", aliases: [] }] },
      ],
    },
  ],
};

describe("lineage layout", () => {
  it("gives each link a row and centres parents on their children", () => {
    const { nodes, edges, height } = layout(DATA);
    const at = (kind, label) => nodes.find((n) => n.kind === kind && n.label === label);
    expect(nodes.filter((n) => n.kind === "link").map((n) => n.y)).toEqual([0, 40, 80, 120]);
    expect(at("collection", "b").y).toBe(60);
    expect(at("registry", "Models").y).toBe(40);
    expect(at("registry", "Zoo").y).toBe(120);
    expect(at("artifact", "m:v0").y).toBe(60);
    expect(edges).toHaveLength(4 + 3 + 2);
    expect(height).toBe(160);
  });
  it("draws a lone artifact when it is linked nowhere visible", () => {
    const { nodes, height } = layout({ artifact: DATA.artifact, registries: [] });
    expect(nodes).toHaveLength(1);
    expect(height).toBe(40);
  });
});

describe("default comparison", () => {
  const v = (version, aliases = []) => ({ version, aliases });
  it("compares the protected alias's version with the newest one", () => {
    const versions = [
      v("v0"),
      v("v1", [{ name: "production", protected: true }]),
      v("v2"),
      v("v3", [{ name: "latest", protected: false }]),
    ];
    expect(defaultSelection(versions)).toEqual(["v1", "v3"]);
  });
  it("compares the newest two when nothing is protected", () => {
    expect(defaultSelection([v("v0"), v("v1"), v("v2")])).toEqual(["v1", "v2"]);
  });
  it("copes with a single version", () => {
    expect(defaultSelection([v("v0")])).toEqual(["v0"]);
  });
});
