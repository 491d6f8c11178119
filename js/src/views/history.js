// The history of a registry, a collection or a linked version: who, when, what,
// before → after; newest first, paged, filtered by the kind of change.
import { useState } from "preact/hooks";
import { countOf, formatAgo, formatDate } from "../format.js";
import { html } from "../html.js";
import { ErrorBox, Link, PageHead, Pager, useRequest } from "./common.js";

const PAGE = 25;

const KIND_LABELS = /** @type {Record<string, string>} */ ({
  registry: "Registry settings and members",
  collection: "Collections",
  link: "Links",
  alias: "Aliases",
  artifact: "Artifact version",
});

const ACTION_LABELS = /** @type {Record<string, string>} */ ({
  "registry.create": "created the registry",
  "registry.update": "changed the registry",
  "registry.delete": "deleted the registry",
  "registry.type.add": "added an accepted type",
  "registry.type.remove": "removed an accepted type",
  "registry.member.add": "added a member",
  "registry.member.role": "changed a member's role",
  "registry.member.remove": "removed a member",
  "registry.protected_alias.add": "protected an alias",
  "registry.protected_alias.remove": "unprotected an alias",
  "collection.create": "created a collection",
  "collection.update": "edited a collection",
  "collection.delete": "deleted a collection",
  "link.create": "linked a version",
  "link.delete": "unlinked a version",
  "alias.set": "set an alias",
  "alias.remove": "removed an alias",
  "artifact.create": "logged the artifact version",
  "artifact.update": "edited the artifact version",
});

/**
 * A history value as parts of text (never markup): each word, such as a name
 * ("cat-resnet:v3"), is a part of its own that is never broken across lines (a browser
 * would break it at a hyphen); the spaces and separators between them are text.
 *
 * @param {any} value
 * @returns {{text: string, name: boolean}[]}
 */
export function valueParts(value) {
  if (value === null || value === undefined) return [];
  if (typeof value === "string") {
    // Each word is kept whole ("cat-resnet:v3", "staging-candidate"); lines break between.
    return value
      .split(/(\s+)/)
      .filter((t) => t !== "")
      .map((t) => ({ text: t, name: !/^\s+$/.test(t) }));
  }
  /** @param {{text: string, name: boolean}[][]} groups @param {string} sep */
  const joined = (groups, sep) =>
    groups.flatMap((g, i) => (i === 0 ? g : [{ text: sep, name: false }, ...g]));
  if (Array.isArray(value)) {
    if (value.length === 0) return [{ text: "none", name: false }];
    return joined(
      value.map((v) => valueParts(v)),
      ", ",
    );
  }
  if (typeof value === "object") {
    return joined(
      Object.entries(value).map(([k, v]) => [
        { text: `${k}:`, name: true },
        { text: " ", name: false },
        ...(typeof v === "object" && v !== null && !Array.isArray(v)
          ? [{ text: JSON.stringify(v), name: false }]
          : valueParts(v)),
      ]),
      "; ",
    );
  }
  return [{ text: String(value), name: true }];
}

/** @param {{text: string}} props */
function Name({ text }) {
  return html`<span class="rw-name" title=${text}>${text}</span>`;
}

/**
 * A path ("Registry/Collection:v1") that may break after each "/" but nowhere else.
 *
 * @param {{text: string}} props
 */
function PathName({ text }) {
  const parts = text.split(/(?<=\/)/);
  return parts.map((p, i) => html`${i ? html`<wbr />` : null}<${Name} text=${p} />`);
}

/** @param {{value: any}} props */
function Value({ value }) {
  return valueParts(value).map((p) => (p.name ? html`<${Name} text=${p.text} />` : p.text));
}

/** @param {{target: string}} props */
export function HistoryPage({ target }) {
  const [kind, setKind] = useState("");
  const [offset, setOffset] = useState(0);
  const { data, error, loading } = useRequest("history.get", {
    path: target,
    kind: kind || null,
    offset,
    limit: PAGE,
  });
  const kinds = data?.kinds ?? Object.keys(KIND_LABELS);
  return html`<div class="rw-page rw-history">
    <${PageHead} title=${`History of ${target}`} loading=${loading} />
    <div class="rw-toolbar">
      <label class="rw-check">Kind of change${" "}
        <select aria-label="Kind of change" value=${kind}
          onChange=${(/** @type {any} */ e) => {
            setKind(e.currentTarget.value);
            setOffset(0);
          }}>
          <option value="">All changes</option>
          ${kinds.map((/** @type {string} */ k) => html`<option value=${k}>${KIND_LABELS[k] ?? k}</option>`)}
        </select>
      </label>
      ${data ? html`<span class="rw-muted">${countOf(data.total, "change")}</span>` : null}
      <span class="rw-muted">· <${Link} route=${target}>back to ${target}<//></span>
    </div>
    <${ErrorBox} error=${error} />
    ${
      data && data.items.length === 0
        ? html`<p class="rw-muted">${kind ? "No change of this kind yet." : "No changes recorded yet."}</p>`
        : null
    }
    ${
      data && data.items.length > 0
        ? html`<div class="rw-table-wrap"><table class="rw-table rw-history-table">
          <thead><tr><th>When</th><th>What</th><th>Target</th><th>Before → after</th></tr></thead>
          <tbody>${data.items.map(
            (
              /** @type {any} */ e,
              /** @type {number} */ i,
            ) => html`<tr key=${`${offset + i}`} data-action=${e.action}>
              <td title=${formatDate(e.at)} class="rw-nowrap">${formatAgo(e.at)}<br />
                <span class="rw-muted"><${Name} text=${e.user} /></span></td>
              <td><span class="rw-action">${
                e.action === "alias.set" && e.before
                  ? "moved an alias"
                  : (ACTION_LABELS[e.action] ?? e.action)
              }</span>
                <div class="rw-muted rw-mono rw-small"><${Name} text=${e.action} /></div></td>
              <td class="rw-target">${
                e.target.includes("/") || e.action.startsWith("registry.")
                  ? html`<${Link} route=${e.target} title=${`Open ${e.target}`}><${PathName} text=${e.target} /><//>`
                  : html`<${PathName} text=${e.target} />`
              }</td>
              <td class="rw-change">
                ${
                  e.before === null || e.before === undefined
                    ? null
                    : html`<div><span class="rw-change-label">before</span>${" "}
                      <span class="rw-before"><${Value} value=${e.before} /></span></div>`
                }
                ${
                  e.after === null || e.after === undefined
                    ? null
                    : html`<div><span class="rw-change-label">after</span>${" "}
                      <span class="rw-after"><${Value} value=${e.after} /></span></div>`
                }
              </td>
            </tr>`,
          )}</tbody></table></div>`
        : null
    }
    ${data ? html`<${Pager} offset=${data.offset} limit=${data.limit} total=${data.total} onChange=${setOffset} />` : null}
  </div>`;
}
