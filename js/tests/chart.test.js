import { describe, expect, it } from "vitest";
import {
  formatNumber,
  linearScale,
  linePath,
  niceTicks,
  numericKeys,
  series,
} from "../src/chart.js";
import { delta, diffRows } from "../src/compare.js";

describe("linearScale", () => {
  it("maps the domain onto the range, inverted for SVG's y axis", () => {
    const y = linearScale([0, 1], [200, 0]);
    expect(y(0)).toBe(200);
    expect(y(1)).toBe(0);
    expect(y(0.25)).toBe(150);
  });
  it("puts a flat domain in the middle", () => {
    expect(linearScale([3, 3], [0, 100])(3)).toBe(50);
  });
});

describe("niceTicks", () => {
  it("covers the data with round steps", () => {
    const { ticks, domain } = niceTicks(0.853, 0.931, 5);
    expect(ticks).toEqual([0.84, 0.86, 0.88, 0.9, 0.92, 0.94]);
    expect(domain).toEqual([0.84, 0.94]);
  });
  it("widens a single value into a range around it", () => {
    const { ticks, domain } = niceTicks(12, 12);
    expect(domain[0]).toBeLessThan(12);
    expect(domain[1]).toBeGreaterThan(12);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
  });
  it("handles zero, negatives and large values", () => {
    expect(niceTicks(0, 0).domain).toEqual([-1, 1]);
    expect(niceTicks(-7, 3, 4).ticks).toEqual([-7.5, -5, -2.5, 0, 2.5, 5]);
    expect(niceTicks(0, 12000, 4).ticks).toEqual([0, 5000, 10000, 15000]);
  });
  it("gives nothing for non-finite input", () => {
    expect(niceTicks(Number.NaN, 1).ticks).toEqual([]);
  });
});

describe("formatNumber", () => {
  it("keeps labels short", () => {
    expect(formatNumber(0.91345678)).toBe("0.9135");
    expect(formatNumber(12000)).toBe("12k");
    expect(formatNumber(0.0003)).toBe("0.0003");
    expect(formatNumber(0.00003)).toBe("3.0e-5");
    expect(formatNumber(0)).toBe("0");
  });
});

const VERSIONS = [
  { version: "v0", index: 0, metadata: { acc: 0.8, name: "a", ok: true, loss: 1 } },
  { version: "v1", index: 1, metadata: { acc: 0.9, name: "a", ok: false } },
  { version: "v2", index: 2, metadata: { acc: 0.85, name: "b", loss: 0.5, epochs: 3 } },
];

describe("series and numericKeys", () => {
  it("chart numbers present in two versions or more, never booleans or text", () => {
    expect(numericKeys(VERSIONS)).toEqual(["acc", "loss"]);
  });
  it("skip versions without the metric", () => {
    expect(series(VERSIONS, "loss")).toEqual([
      { version: "v0", index: 0, value: 1 },
      { version: "v2", index: 2, value: 0.5 },
    ]);
  });
  it("draw a path through the points", () => {
    expect(
      linePath([
        { x: 0, y: 1 },
        { x: 2.25, y: 3 },
      ]),
    ).toBe("M0.0 1.0 L2.3 3.0");
  });
});

describe("diffRows", () => {
  it("marks keys whose values differ, a missing key included", () => {
    const rows = diffRows(VERSIONS.slice(0, 2));
    expect(rows.map((r) => [r.key, r.differs])).toEqual([
      ["acc", true],
      ["name", false],
      ["ok", true],
      ["loss", true],
    ]);
    expect(rows[3].values).toEqual([1, undefined]);
  });
  it("treats null and missing as different", () => {
    const rows = diffRows([{ metadata: { a: null } }, { metadata: {} }]);
    expect(rows[0].differs).toBe(true);
  });
  it("finds nothing to highlight between equal versions", () => {
    expect(diffRows([VERSIONS[0], VERSIONS[0]]).every((r) => !r.differs)).toBe(true);
  });
  it("describes numeric changes", () => {
    expect(delta(0.9, 0.8)).toBe("+0.1");
    expect(delta(3, 5)).toBe("−2");
    expect(delta("a", 1)).toBe("");
    expect(delta(1, 1)).toBe("");
  });
});
