// A linked version: metadata as a tree, files with sizes, digest, other links, usage snippet.
import { useState } from "preact/hooks";
import {
  countOf,
  describeNode,
  formatAgo,
  formatBytes,
  formatDate,
  splitList,
  usageSnippet,
} from "../format.js";
import { html } from "../html.js";
import { roleLabel } from "../roles.js";
import { historyRoute } from "../tool-routes.js";
import { AliasCell } from "./collection.js";
import { UnlinkButton } from "./collection-tools.js";
import {
  Chip,
  ErrorBox,
  Form,
  Link,
  LockIcon,
  PageHead,
  Pager,
  Snippet,
  Spinner,
  useAction,
  useApp,
  useInline,
  useRequest,
} from "./common.js";
import { TextField, useValidation } from "./fields.js";
import { LineageGraph } from "./lineage-graph.js";

/** @param {{art: any, onDone: () => void}} props */
function EditArtifactForm({ art, onDone }) {
  const { invoke, notify } = useApp();
  const [description, setDescription] = useState(art.description);
  const [tags, setTags] = useState(art.tags.join(", "));
  const tagsMsg = useValidation("tags", tags, { skipEmpty: true });
  const action = useAction();
  async function save() {
    const done = await action.run(() =>
      invoke("artifact.update", { artifact: art.ref, description, tags: splitList(tags) }),
    );
    if (done) {
      onDone();
      notify(`Saved the description and tags of ${art.ref}.`);
    }
  }
  return html`<${Form} onSubmit=${save} onCancel=${onDone} autoFocus label="Edit the artifact version">
    <${TextField} label="Description" name="art-description" value=${description}
      onInput=${setDescription} multiline />
    <${TextField} label="Tags (comma-separated)" name="art-tags" value=${tags} onInput=${setTags}
      message=${tagsMsg} />
    <${ErrorBox} error=${action.error} />
    <div class="rw-actions">
      <button type="submit" class="rw-btn rw-btn-primary" disabled=${Boolean(tagsMsg) || action.busy}>
        Save</button>
      <button type="button" class="rw-btn" onClick=${onDone}>Cancel</button>
      ${action.busy ? html`<${Spinner} label="Saving…" />` : null}
    </div>
  <//>`;
}

const DOWNLOAD_MS = 15 * 60 * 1000;

/** @param {{preview: any}} props */
function PreviewBody({ preview }) {
  switch (preview.kind) {
    case "image":
      return html`<img class="rw-preview-image" src=${preview.src} alt=${preview.file} />`;
    case "table":
      return html`<div class="rw-table-wrap"><table class="rw-table rw-preview-table">
        <tbody>${preview.rows.map(
          (/** @type {string[]} */ row, /** @type {number} */ i) =>
            html`<tr key=${i}>${row.map((cell) =>
              i === 0 ? html`<th>${cell}</th>` : html`<td>${cell}</td>`,
            )}</tr>`,
        )}</tbody></table></div>
        ${preview.more ? html`<p class="rw-muted">The first ${preview.rows.length - 1} rows.</p>` : null}`;
    case "json":
    case "text":
      return html`<pre class="rw-preview-text">${preview.text}</pre>
        ${preview.truncated ? html`<p class="rw-muted">The beginning of the file (${formatBytes(preview.size)} in all).</p>` : null}`;
    case "too_large":
      return html`<p class="rw-muted">Too large to show here (${formatBytes(preview.size)}); download it.</p>`;
    default:
      return html`<p class="rw-muted">A binary file (${formatBytes(preview.size)}): nothing to show; download it.</p>`;
  }
}

/** @param {{path: string, file: string, onClose: () => void}} props */
function FilePreview({ path, file, onClose }) {
  const { data, error } = useRequest("file.preview", { path, file });
  return html`<div class="rw-preview" role="region" aria-label=${`Preview of ${file}`}>
    <div class="rw-preview-head"><strong class="rw-mono">${file}</strong>
      <button type="button" class="rw-btn rw-btn-small rw-btn-plain" onClick=${onClose}>Close preview</button></div>
    <${ErrorBox} error=${error} />
    ${data ? html`<${PreviewBody} preview=${data} />` : error ? null : html`<${Spinner} label="Loading…" />`}
  </div>`;
}

/**
 * Download all files, or one, into a folder under the notebook's working directory.
 *
 * @param {{path: string, file: string | null, size: number, onDone: () => void}} props
 */
function DownloadForm({ path, file, size, onDone }) {
  const { invoke, notify } = useApp();
  const [folder, setFolder] = useState("");
  const action = useAction();
  async function download() {
    const done = await action.run(() =>
      invoke("version.download", { path, folder: folder.trim(), file }, { timeoutMs: DOWNLOAD_MS }),
    );
    if (done) {
      onDone();
      notify(
        `Downloaded ${countOf(done.files, "file")} (${formatBytes(done.size)}) to ${done.folder}`,
      );
    }
  }
  return html`<${Form} class="rw-inline-form rw-download" label=${file ? `Download ${file}` : "Download all files"}
    onSubmit=${download} onCancel=${onDone} autoFocus>
    <label>Folder <input type="text" aria-label="Download folder" value=${folder}
      placeholder="empty: the default folder" autocomplete="off"
      onInput=${(/** @type {any} */ e) => setFolder(e.currentTarget.value)} /></label>
    <span class="rw-muted">under the notebook's folder</span>
    <button type="submit" class="rw-btn rw-btn-small rw-btn-primary" disabled=${action.busy}>Download</button>
    <button type="button" class="rw-btn rw-btn-small rw-btn-plain" onClick=${onDone}>Cancel</button>
    ${action.busy ? html`<${Spinner} label=${`Downloading ${formatBytes(size)}…`} />` : null}
    <${ErrorBox} error=${action.error} />
  <//>`;
}

/** @param {{data: any}} props */
function Files({ data }) {
  const art = data.artifact;
  const [previewing, setPreviewing] = useState(/** @type {string | null} */ (null));
  const [downloading, openDownload, closeDownload] = useInline("download");
  const [target, setTarget] = useState(
    /** @type {{file: string | null, size: number}} */ ({
      file: null,
      size: art.size,
    }),
  );
  const can = data.can?.download;
  /** @param {string | null} file @param {number} size */
  function download(file, size) {
    setTarget({ file, size });
    openDownload();
  }
  return html`<div class="rw-files">
    ${
      can
        ? html`<div class="rw-actions"><button class="rw-btn rw-btn-small" onClick=${() => download(null, art.size)}>
          Download all (${formatBytes(art.size)})…</button></div>`
        : html`<p class="rw-note" role="note">
          Previewing and downloading the files needs the ${roleLabel(data.download_role)} role
          on ${data.registry}, and yours is ${roleLabel(data.role)}.</p>`
    }
    ${
      downloading
        ? html`<${DownloadForm} path=${data.path} file=${target.file} size=${target.size} onDone=${closeDownload} />`
        : null
    }
    <table class="rw-table rw-files">
      <thead><tr><th>Path</th><th class="rw-num">Size</th><th>SHA-256</th>${can ? html`<th></th>` : null}</tr></thead>
      <tbody>${art.files.items.map(
        (/** @type {any} */ f) => html`<tr key=${f.path} data-file=${f.path}>
        <td class="rw-mono">${f.path}</td><td class="rw-num">${formatBytes(f.size)}</td>
        <td class="rw-mono rw-muted" title=${f.digest}>${f.digest.slice(0, 12)}…</td>
        ${
          can
            ? html`<td class="rw-nowrap">
              <button class="rw-btn rw-btn-small rw-btn-plain" aria-label=${`Preview ${f.path}`}
                onClick=${() => setPreviewing(previewing === f.path ? null : f.path)}>Preview</button>
              <button class="rw-btn rw-btn-small rw-btn-plain" aria-label=${`Download ${f.path}`}
                onClick=${() => download(f.path, f.size)}>Download…</button></td>`
            : null
        }</tr>`,
      )}</tbody>
    </table>
    ${previewing ? html`<${FilePreview} key=${previewing} path=${data.path} file=${previewing} onClose=${() => setPreviewing(null)} />` : null}
  </div>`;
}

/** @param {{data: any}} props */
function VersionActions({ data }) {
  const [editing, openEdit, closeEdit] = useInline("artifact-edit");
  const can = data.can ?? {};
  if (!can.set_alias && !can.edit_artifact && !can.unlink && !can.remove_alias?.length) return null;
  return html`<div class="rw-version-actions">
    <div class="rw-meta-line"><span class="rw-muted">Aliases:</span>
      <${AliasCell} row=${data} /></div>
    ${
      editing
        ? html`<${EditArtifactForm} art=${data.artifact} onDone=${closeEdit} />`
        : can.edit_artifact
          ? html`<button class="rw-btn rw-btn-small rw-btn-plain" onClick=${openEdit}>
            Edit description and tags</button>`
          : null
    }
  </div>`;
}

/** @param {{name: string, value: any, depth: number}} props */
function TreeNode({ name, value, depth }) {
  const isContainer = value !== null && typeof value === "object";
  const [open, setOpen] = useState(depth < 2);
  if (!isContainer) {
    return html`<div class="rw-tree-leaf"><span class="rw-tree-key">${name}</span>:${" "}
      <span class=${`rw-tree-val rw-t-${value === null ? "null" : typeof value}`}>${
        typeof value === "string" ? JSON.stringify(value) : String(value)
      }</span></div>`;
  }
  const entries = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value);
  return html`<div class="rw-tree-node">
    <button class="rw-tree-toggle" aria-expanded=${open} onClick=${() => setOpen(!open)}>
      ${open ? "▾" : "▸"} <span class="rw-tree-key">${name}</span>
      <span class="rw-muted"> ${describeNode(value)}</span></button>
    ${
      open
        ? html`<div class="rw-tree-children">
          ${entries.map(([k, v]) => html`<${TreeNode} key=${k} name=${k} value=${v} depth=${depth + 1} />`)}
        </div>`
        : null
    }
  </div>`;
}

/** @param {{metadata: Record<string, any>, truncated: boolean}} props */
function MetadataTree({ metadata, truncated }) {
  const keys = Object.keys(metadata);
  if (keys.length === 0) return html`<p class="rw-muted">No metadata.</p>`;
  return html`<div class="rw-tree">
    ${keys.map((k) => html`<${TreeNode} key=${k} name=${k} value=${metadata[k]} depth=${0} />`)}
    ${
      truncated
        ? html`<p class="rw-muted">Long values were shortened for display; the full
      metadata is in link.artifact.metadata.</p>`
        : null
    }
  </div>`;
}

/**
 * Every place the artifact version is linked that the user may see, this page among them.
 *
 * @param {{data: any}} props
 */
function WhereLinked({ data }) {
  return html`<section aria-label="Where it is linked">
    <h3 class="rw-section">Where it is linked</h3>
    <ul class="rw-links">${data.links.map(
      (/** @type {any} */ l) => html`<li key=${l.path} data-path=${l.path}>
        ${
          l.path === data.path
            ? html`<strong aria-current="page">${l.path}</strong>`
            : html`<${Link} route=${l.path}>${l.path}<//>`
        }
        ${l.aliases.map(
          (
            /** @type {any} */ a,
          ) => html` <${Chip} kind=${`rw-alias ${a.protected ? "rw-protected" : ""}`}>
          ${a.protected ? html`<${LockIcon} />` : null}${a.name}<//>`,
        )}
        ${l.path === data.path ? html` <span class="rw-muted">(this page)</span>` : null}</li>`,
    )}</ul>
  </section>`;
}

/** @param {{label: string, children: any}} props */
function Fact({ label, children }) {
  return html`<tr><th scope="row">${label}</th><td>${children}</td></tr>`;
}

/** @param {{path: string}} props */
export function VersionPage({ path }) {
  const [fileOffset, setFileOffset] = useState(0);
  const { data, error, loading } = useRequest("version.get", {
    path,
    file_offset: fileOffset,
    file_limit: 100,
  });
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Spinner} label="Loading version…" />`;
  const art = data.artifact;
  return html`<div class="rw-page">
    <${PageHead}
      title=${`${data.collection_path}:${data.version}`}
      loading=${loading}
      tools=${html`<${Link} route=${historyRoute(data.path)}>History<//>`}>
      ${(data.can?.set_alias ? [] : data.aliases).map(
        (a) => html`<${Chip} kind=${`rw-alias ${a.protected ? "rw-protected" : ""}`}>
        ${a.protected ? html`<${LockIcon} />` : null}${a.name}<//>`,
      )}
    <//>
    <${VersionActions} data=${data} />
    <table class="rw-facts">
      <tbody>
        <${Fact} label="Artifact"><span class="rw-mono">${art.ref}</span><//>
        <${Fact} label="Type"><${Chip} kind="rw-type">${art.type}<//><//>
        <${Fact} label="Digest"><span class="rw-mono">${art.digest}</span><//>
        <${Fact} label="Size">
          ${formatBytes(art.size)} in ${countOf(art.files.total, "file")}<//>
        <${Fact} label="Linked">
          ${formatDate(data.created_at)} by ${data.created_by} (${formatAgo(data.created_at)})<//>
        <${Fact} label="Logged">
          ${formatDate(art.created_at)} by ${art.created_by} (${formatAgo(art.created_at)})<//>
        <${Fact} label="Tags">
          ${art.tags.length ? art.tags.map((t) => html`<${Chip}>${t}<//>`) : html`<span class="rw-muted">none</span>`}<//>
        ${art.description ? html`<${Fact} label="Description"><span class="rw-pre">${art.description}</span><//>` : null}
      </tbody>
    </table>
    <h3 class="rw-section">Use it</h3>
    <${Snippet} code=${usageSnippet(data.path, data.can?.download)} />
    <h3 class="rw-section">Metadata</h3>
    <${MetadataTree} metadata=${art.metadata} truncated=${art.metadata_truncated} />
    <h3 class="rw-section">Files</h3>
    <${Files} data=${data} />
    <${Pager} offset=${art.files.offset} limit=${art.files.limit} total=${art.files.total} onChange=${setFileOffset} />
    <h3 class="rw-section">Lineage</h3>
    <${LineageGraph} path=${data.path} />
    <${WhereLinked} data=${data} />
    <${UnlinkButton} link=${data} />
  </div>`;
}
