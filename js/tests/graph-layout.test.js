import { describe, expect, it } from "vitest";
import { formatDuration } from "../src/format.js";
import { graphColumns, layoutGraph } from "../src/graph-layout.js";
import { breadcrumbs, formatRoute, parseRoute } from "../src/router.js";

// dataset → run → model → run → model, each model linked once, as "lineage.graph" answers
// for the first model (the root first, then upstream and downstream, links last).
const CHAIN = {
  nodes: [
    { key: "version:2", depth: 0 },
    { key: "run:1", depth: -1 },
    { key: "version:1", depth: -2 },
    { key: "run:2", depth: 1 },
    { key: "version:3", depth: 2 },
    { key: "link:2", depth: 0 },
    { key: "link:1", depth: -2 },
    { key: "link:3", depth: 2 },
  ],
  edges: [
    { source: "run:1", target: "version:2" },
    { source: "version:1", target: "run:1" },
    { source: "version:2", target: "run:2" },
    { source: "run:2", target: "version:3" },
    { source: "version:2", target: "link:2" },
    { source: "version:1", target: "link:1" },
    { source: "version:3", target: "link:3" },
  ],
};

describe("graphColumns", () => {
  it("orders columns by depth; a version's links hang under it in its column", () => {
    const { columns, leader } = graphColumns(CHAIN.nodes, CHAIN.edges);
    expect(Object.fromEntries(columns)).toEqual({
      "version:1": 0,
      "link:1": 0,
      "run:1": 1,
      "version:2": 2,
      "link:2": 2,
      "run:2": 3,
      "version:3": 4,
      "link:3": 4,
    });
    expect(Object.fromEntries(leader)).toEqual({
      "link:1": "version:1",
      "link:2": "version:2",
      "link:3": "version:3",
    });
  });

  it("gives a lone node the first column", () => {
    expect([...graphColumns([{ key: "version:9", depth: 0 }], []).columns.values()]).toEqual([0]);
  });
});

describe("layoutGraph", () => {
  const sizes = { nodeWidth: 100, nodeHeight: 30, colGap: 20, rowGap: 10, indent: 10 };

  it("draws a chain on one line, left to right, each link under its version", () => {
    const g = layoutGraph(CHAIN.nodes, CHAIN.edges, sizes);
    const at = Object.fromEntries(g.nodes.map((n) => [n.key, n]));
    expect(g.columns).toBe(5);
    for (const key of ["version:1", "run:1", "version:2", "run:2", "version:3"]) {
      expect(at[key].y).toBe(0);
    }
    expect([at["version:1"].x, at["run:1"].x, at["version:2"].x]).toEqual([0, 120, 240]);
    expect(at["link:2"]).toMatchObject({ x: 250, y: 40, width: 90, follows: true });
    expect(g.width).toBe(5 * 100 + 4 * 20);
    expect(g.height).toBe(70);
    const edge = g.edges.find((e) => e.source === "version:1" && e.target === "run:1");
    expect(edge?.d).toBe("M100 15 C110 15 110 15 120 15");
    const down = g.edges.find((e) => e.target === "link:2");
    expect(down?.d).toBe("M245 30 L245 55 L250 55");
  });

  it("stacks the nodes of a column without overlap, near their neighbours", () => {
    // one dataset used by 14 runs, each producing one model: 29 nodes
    const nodes = [{ key: "version:0", depth: 0 }];
    const edges = [];
    for (let i = 1; i <= 14; i += 1) {
      nodes.push({ key: `run:${i}`, depth: 1 }, { key: `version:${i}`, depth: 2 });
      edges.push(
        { source: "version:0", target: `run:${i}` },
        { source: `run:${i}`, target: `version:${i}` },
      );
    }
    const g = layoutGraph(nodes, edges, sizes);
    const runs = g.nodes.filter((n) => n.key.startsWith("run:")).map((n) => n.y);
    expect(runs).toEqual(runs.map((_, i) => i * 40));
    // each model sits level with the run that produced it
    for (let i = 1; i <= 14; i += 1) {
      const run = g.nodes.find((n) => n.key === `run:${i}`);
      const model = g.nodes.find((n) => n.key === `version:${i}`);
      expect(model?.y).toBe(run?.y);
    }
    expect(g.height).toBe(13 * 40 + 30);
    expect(g.width).toBe(3 * 100 + 2 * 20);
  });

  it("keeps the kernel's order among nodes with no placed neighbour", () => {
    const g = layoutGraph(
      [
        { key: "a", depth: -1 },
        { key: "b", depth: -1 },
      ],
      [],
      sizes,
    );
    expect(g.nodes.map((n) => n.y)).toEqual([0, 40]);
  });

  it("lays out nothing for no nodes", () => {
    expect(layoutGraph([], [], sizes)).toMatchObject({ width: 0, height: 0, columns: 0 });
  });
});

describe("run routes and durations", () => {
  it("round-trips the runs page and a run's page", () => {
    expect(parseRoute("?runs")).toEqual({ page: "runs" });
    expect(parseRoute("?run=12")).toEqual({ page: "run", id: "12" });
    expect(formatRoute({ page: "run", id: "12" })).toBe("?run=12");
    expect(breadcrumbs("?run=12").map((c) => c.route)).toEqual(["", "?runs", "?run=12"]);
  });

  it("says how long a run took", () => {
    expect(formatDuration(0.42)).toBe("0.4 s");
    expect(formatDuration(0.0006)).toBe("< 0.1 s");
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(185)).toBe("3 min 5 s");
    expect(formatDuration(7800)).toBe("2 h 10 min");
    expect(formatDuration(3 * 86400 + 4 * 3600)).toBe("3 d 4 h");
    expect(formatDuration(null)).toBe("–");
  });
});
