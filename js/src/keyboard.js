// Keyboard handling inside a notebook output: JupyterLab listens for Enter, Escape and Tab
// around the widget (Enter enters edit mode, Escape leaves it) and cancels the browser's
// own handling, so a plain <form> never submits on Enter. The widget handles these keys
// itself, on its forms and dialogs, and stops them there.

const FIELDS =
  "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])";
const FOCUSABLE = `${FIELDS}, button:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])`;

/**
 * The first field of `root` (input, select, textarea), or its first focusable control.
 *
 * @param {Element} root
 * @returns {HTMLElement | null}
 */
export function firstField(root) {
  return /** @type {HTMLElement | null} */ (
    root.querySelector(FIELDS) ?? root.querySelector(FOCUSABLE)
  );
}

/**
 * Every control of `root` that Tab can reach, in document order.
 *
 * @param {Element} root
 * @returns {HTMLElement[]}
 */
export function focusables(root) {
  return /** @type {HTMLElement[]} */ ([...root.querySelectorAll(FOCUSABLE)]).filter(
    (el) => !el.closest("[hidden]"),
  );
}

/**
 * The words a control is known by: its label, else its text.
 *
 * @param {Element | null} el
 */
export function controlName(el) {
  return (el?.getAttribute("aria-label") ?? el?.textContent ?? "").trim();
}

/**
 * Whether the keyboard's focus was lost: the focused control was removed (a form closed,
 * a chip went away) and the browser fell back to the page itself.
 */
export function focusLost() {
  const active = document.activeElement;
  return active === null || active === document.body;
}

/**
 * Give the focus back inside `host` after the control that held it went away: to the
 * control named `name` there (the one that opened a form, drawn again), else to the
 * first control of `host`. Nothing is done when the focus is somewhere else already.
 *
 * @param {Element | null} host
 * @param {string} [name]
 */
export function rescueFocus(host, name = "") {
  if (!host?.isConnected || !focusLost()) return;
  const controls = focusables(host);
  const named = name ? controls.find((el) => controlName(el) === name) : undefined;
  (named ?? controls[0])?.focus();
}

/**
 * Keep the focus (see {@link rescueFocus}) in the element `find` returns while the page
 * settles after an action: the control that held it may be disabled while a request
 * runs, then removed when the kernel's answer redraws the page (which may draw that
 * element anew). Watched in the widget `root` for `ms` milliseconds.
 *
 * @param {Element | null} root
 * @param {() => Element | null} find
 * @param {number} [ms]
 */
export function keepFocusIn(root, find, ms = 3000) {
  if (!root?.isConnected) return;
  const rescue = () => {
    const host = find();
    if (host && focusLost()) rescueFocus(host);
  };
  rescue();
  const watch = new MutationObserver(rescue);
  watch.observe(root, { childList: true, subtree: true, attributes: true });
  setTimeout(() => watch.disconnect(), ms);
}

/**
 * Submit `form` the way pressing Enter in one of its fields would in a plain page: through
 * its first submit button, and not at all while that button is disabled.
 *
 * @param {HTMLFormElement} form
 * @returns {boolean} whether the form was submitted
 */
export function submitImplicitly(form) {
  const button = /** @type {HTMLButtonElement | null} */ (
    form.querySelector("button[type=submit], input[type=submit]")
  );
  if (button?.disabled) return false;
  if (button) form.requestSubmit(button);
  else form.requestSubmit();
  return true;
}

/**
 * A form's keys: Enter in a field submits (Ctrl/Cmd+Enter in a text area), Escape cancels.
 * Both are stopped here so the notebook around the widget never sees them.
 *
 * @param {KeyboardEvent} event
 * @param {(() => void) | undefined} onCancel
 */
export function formKeyDown(event, onCancel) {
  const target = /** @type {HTMLElement} */ (event.target);
  const form = /** @type {HTMLFormElement | null} */ (event.currentTarget);
  if (!form || event.isComposing) return;
  if (event.key === "Escape" && onCancel) {
    event.preventDefault();
    event.stopPropagation();
    onCancel();
    return;
  }
  if (event.key !== "Enter" || event.altKey || event.shiftKey) return;
  const tag = target.tagName;
  const multiline = tag === "TEXTAREA";
  const modified = event.ctrlKey || event.metaKey;
  if (tag === "BUTTON" || tag === "A" || (multiline && !modified)) {
    // A button's own Enter clicks it; a newline in a text area: keep them from the notebook.
    event.stopPropagation();
    return;
  }
  if (tag !== "INPUT" && tag !== "SELECT" && !multiline) return;
  event.preventDefault();
  event.stopPropagation();
  submitImplicitly(form);
}

/**
 * A dialog's keys: Escape closes it, Tab and Shift+Tab cycle inside it.
 *
 * @param {KeyboardEvent} event
 * @param {HTMLElement} dialog
 * @param {() => void} onClose
 */
export function dialogKeyDown(event, dialog, onClose) {
  if (event.key === "Escape") {
    event.preventDefault();
    event.stopPropagation();
    onClose();
    return;
  }
  if (event.key !== "Tab") return;
  event.stopPropagation();
  const items = focusables(dialog);
  if (items.length === 0) {
    event.preventDefault();
    return;
  }
  const first = items[0];
  const last = items[items.length - 1];
  const active = /** @type {Element | null} */ (dialog.ownerDocument.activeElement);
  const inside = active !== null && dialog.contains(active);
  if (event.shiftKey && (!inside || active === first)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (!inside || active === last)) {
    event.preventDefault();
    first.focus();
  }
}
