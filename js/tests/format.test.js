import { describe, expect, it } from "vitest";
import {
  countOf,
  describeNode,
  formatAgo,
  formatBytes,
  formatDate,
  formatValue,
  pyString,
  splitList,
  truncate,
  usageSnippet,
} from "../src/format.js";

describe("format", () => {
  it("formats byte counts", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(5 * 1024 ** 3)).toBe("5.0 GiB");
    expect(formatBytes(200 * 1024 ** 2)).toBe("200 MiB");
    expect(formatBytes(null)).toBe("–");
  });

  it("formats dates in UTC and relative to now", () => {
    expect(formatDate("2024-05-01T14:03:59.123Z")).toBe("2024-05-01 14:03");
    expect(formatDate(null)).toBe("–");
    expect(formatDate("not a date")).toBe("not a date");
    const now = new Date("2024-05-01T12:00:00Z");
    expect(formatAgo("2024-05-01T11:59:50Z", now)).toBe("just now");
    expect(formatAgo("2024-05-01T11:30:00Z", now)).toBe("30 min ago");
    expect(formatAgo("2024-05-01T09:00:00Z", now)).toBe("3 h ago");
    expect(formatAgo("2024-04-29T12:00:00Z", now)).toBe("2 d ago");
    expect(formatAgo("2023-01-01T00:00:00Z", now)).toBe("2023-01-01 00:00");
  });

  it("writes a usage snippet with a safely quoted path", () => {
    expect(usageSnippet("Models/cat:production")).toBe(
      'link = client.use("Models/cat:production")\nlocal_dir = link.download()',
    );
    expect(pyString('a"b\\c')).toBe('"a\\"b\\\\c"');
  });

  it("leaves the download out of the snippet for a user who may not download", () => {
    expect(usageSnippet("Models/cat:production", false)).toBe(
      'link = client.use("Models/cat:production")\nlink.metadata',
    );
  });

  it("shortens values for table cells", () => {
    expect(formatValue(0.912345)).toBe("0.9123");
    expect(formatValue(42)).toBe("42");
    expect(formatValue(true)).toBe("true");
    expect(formatValue(undefined)).toBe("–");
    expect(formatValue("x".repeat(50))).toHaveLength(40);
    expect(formatValue({ a: 1 })).toBe('{"a":1}');
    expect(truncate("abcdef", 4)).toBe("abc…");
  });

  it("describes tree nodes", () => {
    expect(describeNode([1, 2])).toBe("[2 items]");
    expect(describeNode({ a: 1 })).toBe("{1 key}");
    expect(describeNode(3)).toBe("3");
  });

  it("splits comma-separated input", () => {
    expect(splitList(" a, b ,,a, c d ")).toEqual(["a", "b", "c d"]);
    expect(splitList("")).toEqual([]);
  });
});

describe("countOf", () => {
  it("puts the noun in the plural unless there is exactly one", () => {
    expect(countOf(1, "version")).toBe("1 version");
    expect(countOf(0, "version")).toBe("0 versions");
    expect(countOf(2, "artifact version")).toBe("2 artifact versions");
    expect(countOf(3, "registry", "registries")).toBe("3 registries");
    expect(countOf(1, "registry", "registries")).toBe("1 registry");
  });
});
