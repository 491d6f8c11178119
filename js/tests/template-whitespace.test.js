// htm drops whitespace that holds a line break at either end of a text run, so
// "Log it inside⏎  <code>x</code>" renders as "Log it insidex". This reads every
// html`…` template in the sources and finds text that would lose its space that way
// against an inline element or an interpolated value.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = new URL("../src/", import.meta.url).pathname;
const INLINE = new Set([
  "a",
  "abbr",
  "b",
  "code",
  "em",
  "i",
  "kbd",
  "mark",
  "q",
  "small",
  "span",
  "strong",
  "time",
]);
const VALUE = "\uE000"; // stands for an interpolated value in a template's text

/** Every .js file under `dir`. */
function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith(".js")
        ? [join(dir, e.name)]
        : [],
  );
}

/**
 * The html`…` templates of `code`: each as its static text with VALUE where a `${…}`
 * stood (templates nested in an interpolation are collected on their own).
 */
function templates(code) {
  /** @type {string[]} */
  const found = [];
  /** Skip a quoted string or a template literal starting at `i`; the index after it. */
  function skipLiteral(i, tagged) {
    const quote = code[i];
    let text = "";
    let j = i + 1;
    while (j < code.length && code[j] !== quote) {
      if (code[j] === "\\") {
        text += code.slice(j, j + 2);
        j += 2;
      } else if (quote === "`" && code.startsWith("${", j)) {
        j = skipExpression(j + 2);
        text += VALUE;
      } else {
        text += code[j];
        j += 1;
      }
    }
    if (tagged) found.push(text);
    return j + 1;
  }
  /** Skip a `${…}` expression whose body starts at `i`; the index after its `}`. */
  function skipExpression(i) {
    let depth = 1;
    let j = i;
    while (j < code.length) {
      const c = code[j];
      if (c === '"' || c === "'" || c === "`") {
        j = skipLiteral(j, c === "`" && /html$/.test(code.slice(0, j)));
        continue;
      }
      if (c === "{") depth += 1;
      if (c === "}" && --depth === 0) return j + 1;
      j += 1;
    }
    return j;
  }
  let i = 0;
  while (i < code.length) {
    const c = code[i];
    if (code.startsWith("//", i)) {
      i = code.indexOf("\n", i) + 1 || code.length;
    } else if (code.startsWith("/*", i)) {
      i = code.indexOf("*/", i) + 2;
    } else if (c === '"' || c === "'" || c === "`") {
      i = skipLiteral(i, c === "`" && /html$/.test(code.slice(0, i)));
    } else {
      i += 1;
    }
  }
  return found;
}

/** Places in one template's text where htm would drop the space before or after a value or an inline element. */
function lostSpaces(text) {
  /** @type {string[]} */
  const lost = [];
  // Split into tags and text runs; a run also ends at each value.
  const parts = text.split(/(<(?:[^>"']|"[^"]*"|'[^']*')*>|\uE000)/);
  for (let k = 0; k < parts.length; k += 2) {
    const run = parts[k];
    if (!/\S/.test(run)) continue;
    const before = parts[k - 1];
    const after = parts[k + 1];
    const inline = (/** @type {string | undefined} */ tag) =>
      tag === VALUE ||
      (tag !== undefined && INLINE.has((/^<\/?([a-z]+)/.exec(tag) ?? [])[1] ?? ""));
    if (/\S\s*\n\s*$/.test(run) && inline(after)) {
      lost.push(`${run.trim().slice(-30)}⏎${after === VALUE ? "{value}" : after}`);
    }
    if (/^\s*\n\s*\S/.test(run) && inline(before)) {
      lost.push(`${before === VALUE ? "{value}" : before}⏎${run.trim().slice(0, 30)}`);
    }
  }
  return lost;
}

describe("template whitespace", () => {
  it("finds the text that htm would join to its neighbour", () => {
    const [inside, after, value] = templates(`
const a = html\`<p>Log it inside
  <code>x</code> to use.</p>\`;
const b = html\`<p><code>x</code>
  runs it</p>\`;
const c = html\`<p>seen \${when}
  (\${ago}) ago</p>\`;
`);
    expect(lostSpaces(inside)).toEqual(["Log it inside⏎<code>"]);
    expect(lostSpaces(after)).toEqual(["</code>⏎runs it"]);
    expect(lostSpaces(value)).toEqual(["{value}⏎("]);
  });

  it("leaves alone breaks between attributes, blocks and nested templates", () => {
    const found = templates(`
html\`<input value=\${v}
  onInput=\${f} />\`;
html\`<div>
  <p>One</p>
  \${cond ? html\`<span>x</span>\` : null}
</div>\`;
html\`<p>Text ends here</p>\${"a}b"}\`;
html\`<input placeholder="acc>0.9"
  help=\${h}>\`;
`);
    expect(found).toHaveLength(5);
    expect(found.flatMap(lostSpaces)).toEqual([]);
  });

  it("no template in the sources loses a space", () => {
    const files = sources(SRC);
    expect(files.length).toBeGreaterThan(10);
    const lost = files.flatMap((file) =>
      templates(readFileSync(file, "utf8"))
        .flatMap(lostSpaces)
        .map((where) => `${file.slice(SRC.length)}: ${where}`),
    );
    expect(lost).toEqual([]);
  });
});
