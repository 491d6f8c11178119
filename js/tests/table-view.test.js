import { describe, expect, it } from "vitest";
import { outOfView, sameView, scrollFor } from "../src/table-view.js";

// Version (pinned, 100 px), then five columns of 100 px: 600 px of table.
const COLUMNS = ["Version", "Aliases", "Tags", "m1", "m2", "m3"].map((name, i) => ({
  name,
  left: i * 100,
  right: (i + 1) * 100,
}));

describe("outOfView", () => {
  it("names the columns past the right edge of a box narrower than the table", () => {
    expect(outOfView(COLUMNS, 0, 350, 100)).toEqual({ left: [], right: ["m1", "m2", "m3"] });
  });

  it("counts a column cut by the edge as out of view", () => {
    expect(outOfView(COLUMNS, 0, 450, 100).right).toEqual(["m2", "m3"]);
    expect(outOfView(COLUMNS, 0, 399.5, 100).right).toEqual(["m2", "m3"]); // rounding
    expect(outOfView(COLUMNS, 0, 398, 100).right).toEqual(["m1", "m2", "m3"]);
  });

  it("names what scrolled under the pinned column, never the pinned one", () => {
    expect(outOfView(COLUMNS, 250, 350, 100)).toEqual({
      left: ["Aliases", "Tags", "m1"],
      right: [],
    });
  });

  it("has nothing out of view when the table fits", () => {
    expect(outOfView(COLUMNS, 0, 600, 100)).toEqual({ left: [], right: [] });
  });

  it("without a pinned column, the first may scroll out too", () => {
    expect(outOfView(COLUMNS, 150, 300, 0)).toEqual({
      left: ["Version", "Aliases"],
      right: ["m2", "m3"],
    });
  });
});

describe("scrollFor", () => {
  it("brings a column on the right to the right edge", () => {
    expect(scrollFor(COLUMNS, "m3", 0, 350, 100)).toBe(250);
    expect(outOfView(COLUMNS, 250, 350, 100).right).toEqual([]);
  });

  it("brings a column on the left beside the pinned one", () => {
    expect(scrollFor(COLUMNS, "Aliases", 250, 350, 100)).toBe(0);
    expect(scrollFor(COLUMNS, "Tags", 250, 350, 100)).toBe(100);
  });

  it("shows the start of a column wider than the room there is", () => {
    const wide = [...COLUMNS, { name: "notes", left: 600, right: 1000 }];
    expect(scrollFor(wide, "notes", 0, 350, 100)).toBe(500);
  });

  it("leaves the scroll as it is for a column in view or unknown", () => {
    expect(scrollFor(COLUMNS, "Tags", 0, 350, 100)).toBe(0);
    expect(scrollFor(COLUMNS, "nothing", 40, 350, 100)).toBe(40);
  });
});

describe("sameView", () => {
  it("compares the names on both sides", () => {
    expect(sameView({ left: [], right: ["a"] }, { left: [], right: ["a"] })).toBe(true);
    expect(sameView({ left: ["a"], right: [] }, { left: [], right: ["a"] })).toBe(false);
  });
});
