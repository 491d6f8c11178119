// @vitest-environment jsdom
import { render } from "preact";
import { describe, expect, it } from "vitest";
import { html } from "../src/html.js";
import { MetricChart } from "../src/views/metric-chart.js";

/** `n` versions v0…v(n-1) with an `acc` metric; `production` on one, `latest` on the last. */
function versions(n) {
  return Array.from({ length: n }, (_, i) => ({
    version: `v${i}`,
    metadata: { acc: 0.5 + (i % 37) / 100 },
    aliases: [
      ...(i === Math.floor(n / 3) ? [{ name: "production", protected: true }] : []),
      ...(i === n - 1 ? [{ name: "latest", protected: false }] : []),
    ],
  }));
}

function draw(n, selected = new Set()) {
  const el = document.createElement("div");
  render(
    html`<${MetricChart} name="acc" versions=${versions(n)} selected=${selected}
      onToggle=${() => {}} />`,
    el,
  );
  return el;
}

describe("a metric chart", () => {
  it("stays readable at 500 versions: small points, few axis labels, every alias named", () => {
    const el = draw(500, new Set(["v166"]));
    const svg = el.querySelector("svg");
    const width = Number(svg.getAttribute("width"));
    const points = [...el.querySelectorAll("circle.rw-chart-point")];
    expect(points.length).toBe(500);
    const small = points.filter((p) => Number(p.getAttribute("r")) < 2);
    expect(small.length).toBe(499); // every point but the selected one is small
    expect(Number(el.querySelector("circle[data-version=v166]").getAttribute("r"))).toBeGreaterThan(
      5,
    );
    for (const p of points) {
      const cx = Number(p.getAttribute("cx"));
      expect(cx).toBeGreaterThan(0);
      expect(cx).toBeLessThan(width);
    }
    // At most one version label per 70 px of width, so labels never overlap.
    const ticks = [...el.querySelectorAll("text.rw-chart-tick")].filter((t) =>
      /^v\d+$/.test(t.textContent),
    );
    expect(ticks.length).toBeLessThanOrEqual(Math.floor(width / 70) + 1);
    expect(ticks.at(-1).textContent).toBe("v499");
    const aliases = [...el.querySelectorAll(".rw-chart-alias text")].map((t) => t.textContent);
    expect(aliases).toEqual(["production", "latest"]);
  });

  it("draws a few versions with large points and a label each", () => {
    const el = draw(5);
    const points = [...el.querySelectorAll("circle.rw-chart-point")];
    expect(points.every((p) => Number(p.getAttribute("r")) > 3)).toBe(true);
    const ticks = [...el.querySelectorAll("text.rw-chart-tick")].filter((t) =>
      /^v\d+$/.test(t.textContent),
    );
    expect(ticks.map((t) => t.textContent)).toEqual(["v0", "v1", "v2", "v3", "v4"]);
  });
});
