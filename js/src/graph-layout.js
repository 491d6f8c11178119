// Left-to-right layout of a lineage graph: columns by depth, rows that keep chains straight.
// No DOM. The graph's facts (which nodes, their depth, their edges) come from the kernel;
// this only places them.

/**
 * @typedef {{key: string, depth: number}} GraphNode
 * @typedef {{source: string, target: string, kind?: string}} GraphEdge
 * @typedef {{nodeWidth?: number, nodeHeight?: number, colGap?: number, rowGap?: number}} Sizes
 */

const DEFAULTS = { nodeWidth: 168, nodeHeight: 40, colGap: 44, rowGap: 12 };

/**
 * The column of every node: ordered by depth (upstream left, downstream right); a node
 * reached by an edge from a node of its own depth (a version's links) gets its own column
 * just right of that depth's. Empty columns are left out.
 *
 * @param {GraphNode[]} nodes
 * @param {GraphEdge[]} edges
 * @returns {Map<string, number>}
 */
export function graphColumns(nodes, edges) {
  const depth = new Map(nodes.map((n) => [n.key, n.depth]));
  const follows = new Set(
    edges
      .filter((e) => depth.has(e.source) && depth.get(e.source) === depth.get(e.target))
      .map((e) => e.target),
  );
  const rank = new Map(nodes.map((n) => [n.key, n.depth * 2 + (follows.has(n.key) ? 1 : 0)]));
  const ranks = [...new Set(rank.values())].sort((a, b) => a - b);
  const index = new Map(ranks.map((r, i) => [r, i]));
  return new Map(nodes.map((n) => [n.key, /** @type {number} */ (index.get(rank.get(n.key)))]));
}

/**
 * Place the nodes: x by column; in each column, from the left, a node goes as close as it
 * can to the mean height of its neighbours already placed (so a chain stays on one line),
 * without overlapping the node above it. Edges run from the right side of their source to
 * the left side of their target.
 *
 * @template {GraphNode} N
 * @template {GraphEdge} E
 * @param {N[]} nodes in the kernel's order (the root first)
 * @param {E[]} edges
 * @param {Sizes} [sizes]
 */
export function layoutGraph(nodes, edges, sizes = {}) {
  const { nodeWidth, nodeHeight, colGap, rowGap } = { ...DEFAULTS, ...sizes };
  const columns = graphColumns(nodes, edges);
  const count = Math.max(0, ...columns.values()) + (nodes.length ? 1 : 0);
  /** @type {Map<string, string[]>} */
  const neighbours = new Map(nodes.map((n) => [n.key, []]));
  for (const e of edges) {
    neighbours.get(e.source)?.push(e.target);
    neighbours.get(e.target)?.push(e.source);
  }
  const order = new Map(nodes.map((n, i) => [n.key, i]));
  /** @type {Map<string, number>} */
  const y = new Map();
  const step = nodeHeight + rowGap;
  for (let col = 0; col < count; col += 1) {
    const here = nodes
      .filter((n) => columns.get(n.key) === col)
      .map((n) => {
        const placed = (neighbours.get(n.key) ?? [])
          .map((k) => y.get(k))
          .filter((v) => v !== undefined);
        const want = placed.length
          ? placed.reduce((a, b) => a + b, 0) / placed.length
          : Number.POSITIVE_INFINITY;
        return { key: n.key, want };
      })
      .sort((a, b) => a.want - b.want || (order.get(a.key) ?? 0) - (order.get(b.key) ?? 0));
    let next = 0;
    for (const n of here) {
      const at = Number.isFinite(n.want) ? Math.max(next, n.want) : next;
      y.set(n.key, at);
      next = at + step;
    }
  }
  const placed = nodes.map((n) => {
    const col = /** @type {number} */ (columns.get(n.key));
    return { ...n, col, x: col * (nodeWidth + colGap), y: /** @type {number} */ (y.get(n.key)) };
  });
  const at = new Map(placed.map((n) => [n.key, n]));
  const lines = edges
    .filter((e) => at.has(e.source) && at.has(e.target))
    .map((e) => {
      const s = /** @type {{x: number, y: number}} */ (at.get(e.source));
      const t = /** @type {{x: number, y: number}} */ (at.get(e.target));
      return {
        ...e,
        x1: s.x + nodeWidth,
        y1: s.y + nodeHeight / 2,
        x2: t.x,
        y2: t.y + nodeHeight / 2,
      };
    });
  const width = count ? count * nodeWidth + (count - 1) * colGap : 0;
  const height = placed.length ? Math.max(...placed.map((n) => n.y)) + nodeHeight : 0;
  return { nodes: placed, edges: lines, width, height, columns: count };
}
