// Routes of the administration and analysis pages, in the same "?name=value" form as search:
//   "?settings=Models"              a registry's settings
//   "?history=Models"               history of a registry, "Models/cats" a collection,
//                                   "Models/cats:v3" a version
//   "?compare=Models/cats"          compare a collection's versions
//   "?org"                          the organization's users
//   "?artifacts"                    every logged artifact version, linked or not
//   "?runs"                         every run
//   "?run=7"                        one run (its id)
// "?" cannot start a registry name, and the value is URI-encoded, so any name round-trips.

/**
 * @typedef {{page: "settings", registry: string}
 *   | {page: "history", target: string}
 *   | {page: "compare", collection: string}
 *   | {page: "org"}
 *   | {page: "artifacts"}
 *   | {page: "runs"}
 *   | {page: "run", id: string}} ToolRoute
 */

const TOOLS = ["settings", "history", "compare", "run"];

/**
 * A route's encoded part as text. A part typed by hand may hold a `%` that encodes
 * nothing (`?search=50%`): it is taken as written rather than refused.
 *
 * @param {string} part
 * @returns {string}
 */
export function decodePart(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * Parse a tool route, or return null when `text` is not one.
 *
 * @param {string} text
 * @returns {ToolRoute | null}
 */
export function parseToolRoute(text) {
  if (text === "?org") return { page: "org" };
  if (text === "?artifacts") return { page: "artifacts" };
  if (text === "?runs") return { page: "runs" };
  const eq = text.indexOf("=");
  if (!text.startsWith("?") || eq < 0) return null;
  const tool = text.slice(1, eq);
  if (!TOOLS.includes(tool)) return null;
  const value = decodePart(text.slice(eq + 1));
  if (tool === "settings") return { page: "settings", registry: value };
  if (tool === "history") return { page: "history", target: value };
  if (tool === "run") return { page: "run", id: value };
  return { page: "compare", collection: value };
}

/**
 * The route string of a tool page.
 *
 * @param {ToolRoute} r
 */
export function formatToolRoute(r) {
  switch (r.page) {
    case "settings":
      return `?settings=${encodeURIComponent(r.registry)}`;
    case "history":
      return `?history=${encodeURIComponent(r.target)}`;
    case "compare":
      return `?compare=${encodeURIComponent(r.collection)}`;
    case "artifacts":
      return "?artifacts";
    case "runs":
      return "?runs";
    case "run":
      return `?run=${encodeURIComponent(r.id)}`;
    default:
      return "?org";
  }
}

/** @param {string} registry */
export const settingsRoute = (registry) => formatToolRoute({ page: "settings", registry });
/** @param {string} target a registry, "Registry/Collection" or "Registry/Collection:vN" */
export const historyRoute = (target) => formatToolRoute({ page: "history", target });
/** @param {string} collection "Registry/Collection" */
export const compareRoute = (collection) => formatToolRoute({ page: "compare", collection });
export const RUNS_ROUTE = "?runs";
/** @param {string} id a run's id */
export const runRoute = (id) => formatToolRoute({ page: "run", id });

/**
 * Breadcrumbs of a tool page, given the crumbs of the page it belongs to.
 *
 * @param {ToolRoute} r
 * @param {(route: string) => {label: string, route: string}[]} crumbsOf
 * @returns {{label: string, route: string}[]}
 */
export function toolCrumbs(r, crumbsOf) {
  const here = formatToolRoute(r);
  switch (r.page) {
    case "settings":
      return [...crumbsOf(r.registry), { label: "Settings", route: here }];
    case "history":
      return [...crumbsOf(r.target), { label: "History", route: here }];
    case "compare":
      return [...crumbsOf(r.collection), { label: "Compare", route: here }];
    case "artifacts":
      return [...crumbsOf(""), { label: "Artifacts", route: here }];
    case "runs":
      return [...crumbsOf(""), { label: "Runs", route: here }];
    case "run":
      return [
        ...crumbsOf(""),
        { label: "Runs", route: RUNS_ROUTE },
        { label: `#${r.id}`, route: here },
      ];
    default:
      return [...crumbsOf(""), { label: "Organization", route: here }];
  }
}
