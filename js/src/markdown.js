// Markdown to sanitised HTML: marked parses, DOMPurify removes anything executable.
import DOMPurify from "dompurify";
import { marked } from "marked";

/**
 * Render user Markdown as HTML safe to insert into the page.
 *
 * @param {string} text
 * @returns {string}
 */
export function renderMarkdown(text) {
  const html = /** @type {string} */ (
    marked.parse(String(text ?? ""), { async: false, gfm: true })
  );
  return DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select"],
    FORBID_ATTR: ["style"],
  });
}

// Links in descriptions open in a new tab and never get a handle on the notebook page.
DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});
