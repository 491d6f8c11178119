// Markdown to sanitised HTML: marked parses, DOMPurify removes anything executable, and
// nothing in a description loads from another host: an image (a tracking beacon in every
// viewer's browser) becomes a link to it, which the reader may follow or not.
import DOMPurify from "dompurify";
import { marked } from "marked";

// Elements and attributes that fetch media by themselves; images are turned into links.
const MEDIA_TAGS = ["audio", "video", "source", "track", "picture", "object", "embed", "iframe"];
const MEDIA_ATTRS = ["srcset", "poster", "background", "style"];

/**
 * Render user Markdown as HTML safe to insert into the page, loading nothing remote.
 *
 * @param {string} text
 * @returns {string}
 */
export function renderMarkdown(text) {
  addLinkHook();
  const html = /** @type {string} */ (
    marked.parse(String(text ?? ""), { async: false, gfm: true })
  );
  const fragment = DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", ...MEDIA_TAGS],
    FORBID_ATTR: MEDIA_ATTRS,
    RETURN_DOM_FRAGMENT: true,
  });
  for (const img of [...fragment.querySelectorAll("img")]) {
    img.replaceWith(imageLink(img));
  }
  const box = document.createElement("div");
  box.appendChild(fragment);
  return box.innerHTML;
}

/**
 * A link in place of an image: "image: <alt>", to its address when it is a web address.
 *
 * @param {HTMLImageElement} img
 * @returns {Node}
 */
function imageLink(img) {
  const src = img.getAttribute("src") ?? "";
  const label = `image: ${img.getAttribute("alt") || img.getAttribute("title") || src || "?"}`;
  if (!/^https?:\/\//i.test(src)) return img.ownerDocument.createTextNode(`[${label}]`);
  const a = img.ownerDocument.createElement("a");
  a.setAttribute("href", src);
  a.setAttribute("class", "rw-image-link");
  a.setAttribute("title", `Not loaded: opens ${src}`);
  a.setAttribute("target", "_blank");
  a.setAttribute("rel", "noopener noreferrer");
  a.textContent = label;
  return a;
}

let hooked = false;

// Links in descriptions open in a new tab and never get a handle on the notebook page.
// (Added on first use: DOMPurify needs a DOM, which modules imported without one lack.)
function addLinkHook() {
  if (hooked) return;
  hooked = true;
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A") {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  });
}
