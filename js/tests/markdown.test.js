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

describe("remote content", () => {
  it("turns images into links and loads nothing from another host", () => {
    const out = renderMarkdown(
      '![loss curve](https://tracker.example/pixel.png) <img src="https://x.example/a.gif" alt="a">' +
        '<video src="https://x.example/v.mp4"></video><picture><source srcset="https://x.example/p.webp"></picture>',
    );
    const box = document.createElement("div");
    box.innerHTML = out;
    expect(box.querySelectorAll("img, video, source, picture")).toHaveLength(0);
    expect(out).not.toContain("srcset");
    const links = [...box.querySelectorAll("a.rw-image-link")];
    expect(links.map((a) => a.textContent)).toEqual(["image: loss curve", "image: a"]);
    expect(links[0].getAttribute("href")).toBe("https://tracker.example/pixel.png");
    expect(links[0].getAttribute("rel")).toBe("noopener noreferrer");
  });

  it("shows an image that is not a web address as text", () => {
    const out = renderMarkdown("![diagram](data:image/png;base64,AAAA)");
    expect(out).toContain("[image: diagram]");
    expect(out).not.toContain("<img");
    expect(out).not.toContain("<a");
  });
});
