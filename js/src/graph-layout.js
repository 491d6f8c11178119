// Left-to-right layout of a lineage graph: columns by depth, rows that keep chains straight.
// No DOM. The graph's facts (which nodes, their depth, their edges) come from the kernel;
// this only places them.

/**
 * @typedef {{key: string, depth: number}} GraphNode
 * @typedef {{source: string, target: string, kind?: string}} GraphEdge
 * @typedef {{nodeWidth?: number, nodeHeight?: number, colGap?: number, rowGap?: number,
 *   indent?: number}} Sizes
 */

const DEFAULTS = { nodeWidth: 168, nodeHeight: 40, colGap: 44, rowGap: 10, indent: 16 };

/**
 * The column of every node, ordered by depth (upstream left, downstream right), and the
 * node each "follower" hangs under: a node reached by an edge from a node of its own depth
 * (where a version is linked) sits under that node, in its column. Empty columns are left
 * out.
 *
 * @param {GraphNode[]} nodes
 * @param {GraphEdge[]} edges
 * @returns {{columns: Map<string, number>, leader: Map<string, string>}}
 */
export function graphColumns(nodes, edges) {
  const depth = new Map(nodes.map((n) => [n.key, n.depth]));
  /** @type {Map<string, string>} */
  const leader = new Map();
  for (const e of edges) {
    if (
      depth.has(e.source) &&
      depth.get(e.source) === depth.get(e.target) &&
      !leader.has(e.target) &&
      !leader.has(e.source)
    ) {
      leader.set(e.target, e.source);
    }
  }
  const depths = [...new Set(depth.values())].sort((a, b) => a - b);
  const index = new Map(depths.map((d, i) => [d, i]));
  const columns = new Map(nodes.map((n) => [n.key, /** @type {number} */ (index.get(n.depth))]));
  return { columns, leader };
}

/**
 * Place the nodes: x by column; in each column, from the left, a node goes as close as it
 * can to the mean height of its neighbours already placed (so a chain stays on one line),
 * without overlapping the node above it; its followers stack under it, indented. Edges
 * between columns run from the right side of their source to the left side of their
 * target; an edge to a follower is an elbow down the leader's left side.
 *
 * @template {GraphNode} N
 * @param {N[]} nodes in the kernel's order (the root first)
 * @param {GraphEdge[]} edges
 * @param {Sizes} [sizes]
 */
export function layoutGraph(nodes, edges, sizes = {}) {
  const { nodeWidth, nodeHeight, colGap, rowGap, indent } = { ...DEFAULTS, ...sizes };
  const { columns, leader } = graphColumns(nodes, edges);
  const count = nodes.length ? Math.max(...columns.values()) + 1 : 0;
  /** @type {Map<string, string[]>} */
  const followers = new Map();
  for (const n of nodes) {
    const head = leader.get(n.key);
    if (head !== undefined) followers.set(head, [...(followers.get(head) ?? []), n.key]);
  }
  /** @type {Map<string, string[]>} */
  const neighbours = new Map(nodes.map((n) => [n.key, []]));
  for (const e of edges) {
    if (leader.get(e.target) === e.source) continue;
    neighbours.get(e.source)?.push(e.target);
    neighbours.get(e.target)?.push(e.source);
  }
  const order = new Map(nodes.map((n, i) => [n.key, i]));
  /** @type {Map<string, number>} */
  const y = new Map();
  const step = nodeHeight + rowGap;
  for (let col = 0; col < count; col += 1) {
    const here = nodes
      .filter((n) => columns.get(n.key) === col && !leader.has(n.key))
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
      for (const f of followers.get(n.key) ?? []) {
        y.set(f, next);
        next += step;
      }
    }
  }
  const placed = nodes.map((n) => {
    const col = /** @type {number} */ (columns.get(n.key));
    const follows = leader.has(n.key);
    return {
      ...n,
      col,
      x: col * (nodeWidth + colGap) + (follows ? indent : 0),
      y: /** @type {number} */ (y.get(n.key)),
      width: nodeWidth - (follows ? indent : 0),
      follows,
    };
  });
  const at = new Map(placed.map((n) => [n.key, n]));
  const lines = edges
    .filter((e) => at.has(e.source) && at.has(e.target))
    .map((e) => {
      const s = /** @type {(typeof placed)[number]} */ (at.get(e.source));
      const t = /** @type {(typeof placed)[number]} */ (at.get(e.target));
      if (leader.get(e.target) === e.source) {
        const x = s.x + indent / 2;
        const y2 = t.y + nodeHeight / 2;
        return { ...e, d: `M${x} ${s.y + nodeHeight} L${x} ${y2} L${t.x} ${y2}` };
      }
      const x1 = s.x + s.width;
      const y1 = s.y + nodeHeight / 2;
      const x2 = t.x;
      const y2 = t.y + nodeHeight / 2;
      const mx = (x1 + x2) / 2;
      return { ...e, d: `M${x1} ${y1} C${mx} ${y1} ${mx} ${y2} ${x2} ${y2}` };
    });
  const width = count ? count * nodeWidth + (count - 1) * colGap : 0;
  const height = placed.length ? Math.max(...placed.map((n) => n.y)) + nodeHeight : 0;
  return { nodes: placed, edges: lines, width, height, columns: count };
}
