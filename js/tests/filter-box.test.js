// @vitest-environment jsdom
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { html } from "../src/html.js";
import { FILTER_DELAY_MS, FilterBox } from "../src/views/filter-box.js";

/** Render a filter box into a fresh element; return the element and the queries it sent. */
function mount(props = {}) {
  const root = document.createElement("div");
  document.body.append(root);
  /** @type {string[]} */
  const sent = [];
  const all = {
    label: "Filter things",
    placeholder: "Filter: name  tag:x",
    help: "How to write a filter",
    onQuery: (/** @type {string} */ q) => sent.push(q),
    ...props,
  };
  act(() => {
    render(html`<${FilterBox} ...${all}><span data-testid="count">3 things</span><//>`, root);
  });
  return {
    root,
    sent,
    rerender: (/** @type {any} */ more) =>
      act(() => {
        render(html`<${FilterBox} ...${{ ...all, ...more }} />`, root);
      }),
  };
}

/** Type `text` into the box's field as a user would. */
function type(root, text) {
  const input = root.querySelector("input");
  act(() => {
    input.value = text;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

describe("FilterBox", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => {
    vi.useRealTimers();
    document.body.innerHTML = "";
  });

  it("renders the filter field in a toolbar, with what the page puts beside it", () => {
    const { root } = mount();
    const toolbar = root.querySelector(".rw-toolbar");
    const input = toolbar.querySelector("input.rw-filter.rw-filter-wide");
    expect(input.type).toBe("search");
    expect(input.getAttribute("aria-label")).toBe("Filter things");
    expect(input.placeholder).toBe("Filter: name  tag:x");
    expect(input.title).toBe("How to write a filter");
    expect(toolbar.querySelector('[data-testid="count"]').textContent).toBe("3 things");
    expect(root.querySelector(".rw-invalid")).toBeNull();
  });

  it("sends the trimmed text once typing pauses, and only the last of quick keystrokes", async () => {
    const { root, sent } = mount();
    await vi.advanceTimersByTimeAsync(FILTER_DELAY_MS);
    expect(sent).toEqual([""]);
    type(root, "tag:x");
    await vi.advanceTimersByTimeAsync(FILTER_DELAY_MS - 50);
    type(root, "  tag:nightly ");
    await vi.advanceTimersByTimeAsync(FILTER_DELAY_MS - 1);
    expect(sent).toEqual([""]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual(["", "tag:nightly"]);
    expect(root.querySelector("input").value).toBe("  tag:nightly ");
  });

  it("shows the refusal of an invalid filter under the toolbar, as status text", () => {
    const { root, rerender } = mount({ error: { message: "filter field 'colour' is unknown" } });
    const shown = root.querySelector(".rw-invalid");
    expect(shown.getAttribute("role")).toBe("status");
    expect(shown.textContent).toBe("filter field 'colour' is unknown");
    expect(shown.previousElementSibling.classList.contains("rw-toolbar")).toBe(true);
    rerender({ error: null });
    expect(root.querySelector(".rw-invalid")).toBeNull();
  });

  it("shows error text as text, never as markup", () => {
    const { root } = mount({ error: { message: "<img src=x onerror=alert(1)>" } });
    expect(root.querySelector(".rw-invalid img")).toBeNull();
    expect(root.querySelector(".rw-invalid").textContent).toBe("<img src=x onerror=alert(1)>");
  });
});
