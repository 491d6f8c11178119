// Routes are plain strings, the same as the `route` trait a notebook cell may set:
//   ""                        the registries page
//   "Models"                  a registry
//   "Models/cat-resnet"       a collection
//   "Models/cat-resnet:v3"    a linked version (also an alias: "Models/cat-resnet:production")
//   "?search=cat"             search results ("?" cannot occur in a registry name)
//   "?settings=…", "?history=…", "?compare=…", "?org", "?runs", "?run=…"   see tool-routes.js

/**
 * @typedef {{page: "registries"}
 *   | {page: "registry", registry: string}
 *   | {page: "collection", registry: string, collection: string}
 *   | {page: "version", registry: string, collection: string, selector: string}
 *   | {page: "search", query: string}
 *   | import("./tool-routes.js").ToolRoute} Route
 */

import { decodePart, formatToolRoute, parseToolRoute, toolCrumbs } from "./tool-routes.js";

const SEARCH_PREFIX = "?search=";

/**
 * Parse a route string into its parts.
 *
 * @param {string} route
 * @returns {Route}
 */
export function parseRoute(route) {
  const text = (route ?? "").trim();
  if (text.startsWith(SEARCH_PREFIX)) {
    return { page: "search", query: decodePart(text.slice(SEARCH_PREFIX.length)) };
  }
  const tool = text.startsWith("?") ? parseToolRoute(text) : null;
  if (tool) return tool;
  if (text === "") return { page: "registries" };
  const slash = text.indexOf("/");
  if (slash < 0) return { page: "registry", registry: text };
  const registry = text.slice(0, slash);
  const rest = text.slice(slash + 1);
  const colon = rest.indexOf(":");
  if (colon < 0) return { page: "collection", registry, collection: rest };
  const collection = rest.slice(0, colon);
  const selector = rest.slice(colon + 1) || "latest";
  return { page: "version", registry, collection, selector };
}

/**
 * The route string of a parsed route (inverse of parseRoute).
 *
 * @param {Route} r
 * @returns {string}
 */
export function formatRoute(r) {
  switch (r.page) {
    case "registries":
      return "";
    case "registry":
      return r.registry;
    case "collection":
      return `${r.registry}/${r.collection}`;
    case "version":
      return `${r.registry}/${r.collection}:${r.selector}`;
    case "search":
      return `${SEARCH_PREFIX}${encodeURIComponent(r.query)}`;
    case "settings":
    case "history":
    case "compare":
    case "org":
    case "artifacts":
    case "runs":
    case "run":
      return formatToolRoute(r);
    default:
      return "";
  }
}

/** @param {string} query */
export function searchRoute(query) {
  return formatRoute({ page: "search", query });
}

/**
 * The breadcrumb trail of a route: a list of {label, route}, the last one current.
 *
 * @param {string} route
 * @returns {{label: string, route: string}[]}
 */
export function breadcrumbs(route) {
  const r = parseRoute(route);
  /** @type {{label: string, route: string}[]} */
  const crumbs = [{ label: "Registries", route: "" }];
  if (r.page === "search") {
    crumbs.push({ label: `Search “${r.query}”`, route: formatRoute(r) });
    return crumbs;
  }
  if (r.page === "registries") return crumbs;
  if (
    r.page === "settings" ||
    r.page === "history" ||
    r.page === "compare" ||
    r.page === "org" ||
    r.page === "artifacts" ||
    r.page === "runs" ||
    r.page === "run"
  ) {
    return toolCrumbs(r, breadcrumbs);
  }
  crumbs.push({ label: r.registry, route: r.registry });
  if (r.page === "registry") return crumbs;
  crumbs.push({ label: r.collection, route: `${r.registry}/${r.collection}` });
  if (r.page === "collection") return crumbs;
  crumbs.push({ label: r.selector, route: formatRoute(r) });
  return crumbs;
}

/**
 * Back/forward history of the routes visited inside one widget view.
 * A route set from outside (a notebook cell) is pushed like a click.
 */
export class NavHistory {
  /** @param {string} initial */
  constructor(initial) {
    /** @type {string[]} */
    this.entries = [initial];
    this.index = 0;
  }

  get current() {
    return this.entries[this.index];
  }

  get canBack() {
    return this.index > 0;
  }

  get canForward() {
    return this.index < this.entries.length - 1;
  }

  /**
   * Record a visit; drops the forward entries. Visiting the current route is a no-op.
   *
   * @param {string} route
   */
  push(route) {
    if (route === this.current) return;
    this.entries = this.entries.slice(0, this.index + 1);
    this.entries.push(route);
    this.index = this.entries.length - 1;
  }

  /** @returns {string | null} the route to show, or null at the start */
  back() {
    if (!this.canBack) return null;
    this.index -= 1;
    return this.current;
  }

  /** @returns {string | null} the route to show, or null at the end */
  forward() {
    if (!this.canForward) return null;
    this.index += 1;
    return this.current;
  }
}
