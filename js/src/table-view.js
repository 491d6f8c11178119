// Which columns of a table that scrolls sideways are out of view, and where to scroll to
// bring one into view. Pure: the component measures, this decides.

/**
 * A column's extent inside the scrolled content, in pixels from its left edge.
 *
 * @typedef {{name: string, left: number, right: number}} Column
 */

/**
 * The columns not wholly in view, on either side. The first column is pinned (it stays at
 * the left edge, `pinned` pixels wide), so it is never out of view and hides what passes
 * under it.
 *
 * @param {Column[]} columns in their order, the pinned one first
 * @param {number} scrollLeft how far the content is scrolled
 * @param {number} width the visible width of the scroll box
 * @param {number} pinned the width of the pinned first column (0: none)
 * @returns {{left: string[], right: string[]}}
 */
export function outOfView(columns, scrollLeft, width, pinned) {
  /** @type {string[]} */
  const left = [];
  /** @type {string[]} */
  const right = [];
  const start = scrollLeft + pinned;
  const end = scrollLeft + width;
  columns.forEach((c, i) => {
    if (i === 0 && pinned > 0) return;
    if (c.left < start - 1) left.push(c.name);
    else if (c.right > end + 1) right.push(c.name);
  });
  return { left, right };
}

/**
 * Where to scroll so that the column `name` is in view: its right edge at the box's right
 * edge when it lies to the right, its left edge beside the pinned column otherwise (and
 * always when it is wider than the room there is).
 *
 * @param {Column[]} columns
 * @param {string} name
 * @param {number} scrollLeft
 * @param {number} width
 * @param {number} pinned
 * @returns {number} the new scrollLeft (unchanged if there is no such column)
 */
export function scrollFor(columns, name, scrollLeft, width, pinned) {
  const c = columns.find((col) => col.name === name);
  if (!c) return scrollLeft;
  const room = width - pinned;
  if (c.right - c.left > room || c.left < scrollLeft + pinned) return Math.max(0, c.left - pinned);
  if (c.right > scrollLeft + width) return c.right - width;
  return scrollLeft;
}

/**
 * Whether two answers of `outOfView` name the same columns.
 *
 * @param {{left: string[], right: string[]}} a
 * @param {{left: string[], right: string[]}} b
 */
export function sameView(a, b) {
  return a.left.join("\n") === b.left.join("\n") && a.right.join("\n") === b.right.join("\n");
}
