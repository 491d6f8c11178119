// A table that may be wider than the widget: it scrolls sideways inside its own box, its
// first column pinned so a row keeps its name, with a shade at the edge where more lies.
// Above it, the columns out of view are named, each a button that scrolls it into view.
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "../html.js";
import { outOfView, sameView, scrollFor } from "../table-view.js";

const NONE = { left: /** @type {string[]} */ ([]), right: /** @type {string[]} */ ([]) };

/**
 * The header cells of the table in `box`, each with its extent inside the scrolled content.
 *
 * @param {HTMLElement} box
 */
function measure(box) {
  const origin = box.getBoundingClientRect().left - box.scrollLeft;
  const cells = /** @type {HTMLElement[]} */ ([...box.querySelectorAll("thead th")]);
  const columns = cells.map((th) => {
    const r = th.getBoundingClientRect();
    return {
      name: th.dataset.column ?? th.textContent?.trim() ?? "",
      left: r.left - origin,
      right: r.right - origin,
    };
  });
  const pinned = columns.length ? columns[0].right - columns[0].left : 0;
  return { columns, pinned, width: box.clientWidth };
}

/** @param {{name: string, side: "left" | "right", onGo: (name: string) => void}} props */
function GoTo({ name, side, onGo }) {
  const go = () => onGo(name);
  return html`<button type="button" class="rw-btn rw-btn-small rw-btn-plain rw-go-column"
    aria-label=${name} title=${`Scroll to the column ${name}`} onClick=${go}>${
      side === "left" ? `← ${name}` : `${name} →`
    }</button>`;
}

/**
 * @param {{label: string, children: any}} props `label` names the table for the scroll box
 */
export function WideTable({ label, children }) {
  const box = useRef(/** @type {HTMLDivElement | null} */ (null));
  const [hidden, setHidden] = useState(NONE);
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const update = () => {
      const m = measure(el);
      const next = outOfView(m.columns, el.scrollLeft, m.width, m.pinned);
      setHidden((prev) => (sameView(prev, next) ? prev : next));
    };
    update();
    el.addEventListener("scroll", update, { passive: true });
    // The box narrows with the notebook's panel; the table widens with a longer page.
    const resized = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(update);
    resized?.observe(el);
    const table = el.querySelector("table");
    if (table) resized?.observe(table);
    return () => {
      el.removeEventListener("scroll", update);
      resized?.disconnect();
    };
  });
  /** @param {string} name */
  function go(name) {
    const el = box.current;
    if (!el) return;
    const m = measure(el);
    el.scrollTo({ left: scrollFor(m.columns, name, el.scrollLeft, m.width, m.pinned) });
  }
  const more = hidden.left.length + hidden.right.length;
  const edges = `${hidden.left.length ? "rw-more-left" : ""} ${hidden.right.length ? "rw-more-right" : ""}`;
  return html`<div class="rw-wide">
    ${
      more
        ? html`<div class="rw-column-cue" role="group" aria-label="Columns out of view">
          <span class="rw-muted">${more === 1 ? "1 column" : `${more} columns`} out of view
            (scroll the table sideways):</span>
          ${hidden.left.map((n) => html`<${GoTo} key=${`l${n}`} name=${n} side="left" onGo=${go} />`)}
          ${hidden.right.map((n) => html`<${GoTo} key=${`r${n}`} name=${n} side="right" onGo=${go} />`)}
        </div>`
        : null
    }
    <div class=${`rw-wide-frame ${edges}`}>
      <div class="rw-table-wrap" ref=${box} role="region" aria-label=${label}
        tabindex=${more ? "0" : undefined}>${children}</div>
    </div>
  </div>`;
}
