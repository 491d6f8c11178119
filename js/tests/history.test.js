import { describe, expect, it } from "vitest";
import { valueParts } from "../src/views/history.js";

const names = (/** @type {any} */ value) =>
  valueParts(value)
    .filter((p) => p.name)
    .map((p) => p.text);
const text = (/** @type {any} */ value) =>
  valueParts(value)
    .map((p) => p.text)
    .join("");

describe("valueParts", () => {
  it("keeps each name of a list whole, joined by commas", () => {
    const value = ["release-candidate", "staging-candidate"];
    expect(names(value)).toEqual(value);
    expect(text(value)).toBe("release-candidate, staging-candidate");
  });

  it("says the value of each key, its names whole", () => {
    const value = { alias: "staging-candidate", version: "v2" };
    expect(text(value)).toBe("alias: staging-candidate; version: v2");
    expect(names(value)).toEqual(["alias:", "staging-candidate", "version:", "v2"]);
  });

  it("keeps each word of a text whole, to wrap between words only", () => {
    const moved = "staging-candidate → vision-team/cat-resnet:v0";
    expect(names(moved)).toEqual(["staging-candidate", "→", "vision-team/cat-resnet:v0"]);
    expect(text(moved)).toBe(moved);
    expect(text({ description: "Models of  the vision-team" })).toBe(
      "description: Models of  the vision-team",
    );
  });

  it("shows an empty list as none and nothing for no value", () => {
    expect(text([])).toBe("none");
    expect(valueParts(null)).toEqual([]);
  });

  it("writes a nested object as JSON text", () => {
    expect(text({ a: { b: 1 } })).toBe('a: {"b":1}');
  });
});
