// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../src/markdown.js";

describe("renderMarkdown", () => {
  it("renders Markdown", () => {
    const out = renderMarkdown("# Title\n\n*fast* model, see [docs](https://example.org)");
    expect(out).toContain("<h1>Title</h1>");
    expect(out).toContain("<em>fast</em>");
    expect(out).toContain('target="_blank"');
    expect(out).toContain('rel="noopener noreferrer"');
  });

  it("removes scripts, event handlers and javascript: links", () => {
    const out = renderMarkdown(
      '<img src=x onerror="alert(1)"><script>alert(2)</script>[x](javascript:alert(3))<a href="javascript:alert(4)">y</a>',
    );
    expect(out).not.toMatch(/onerror|<script|javascript:/i);
  });
});
