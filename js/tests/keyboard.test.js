// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { dialogKeyDown, firstField, formKeyDown } from "../src/keyboard.js";

/** A form in a page whose surroundings (the notebook) listen for keys, as JupyterLab does. */
function setup(inner) {
  const outer = document.createElement("div");
  const form = document.createElement("form");
  form.innerHTML = inner;
  outer.appendChild(form);
  document.body.appendChild(outer);
  const notebook = vi.fn();
  outer.addEventListener("keydown", notebook);
  const submitted = vi.fn((e) => e.preventDefault());
  form.addEventListener("submit", submitted);
  const cancel = vi.fn();
  form.addEventListener("keydown", (e) => formKeyDown(e, cancel));
  return { outer, form, notebook, submitted, cancel };
}

function press(el, key, opts = {}) {
  const e = new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...opts });
  el.dispatchEvent(e);
  return e;
}

afterEach(() => {
  document.body.innerHTML = "";
});

describe("form keys", () => {
  it("Enter in a field submits through the submit button and never reaches the notebook", () => {
    const { form, notebook, submitted } = setup('<input id="a"><button type="submit">Go</button>');
    const e = press(form.querySelector("#a"), "Enter");
    expect(submitted).toHaveBeenCalledTimes(1);
    expect(e.defaultPrevented).toBe(true);
    expect(notebook).not.toHaveBeenCalled();
  });

  it("Enter does not submit while the submit button is disabled", () => {
    const { form, submitted } = setup('<input id="a"><button type="submit" disabled>Go</button>');
    press(form.querySelector("#a"), "Enter");
    expect(submitted).not.toHaveBeenCalled();
  });

  it("Enter in a text area is a newline; Ctrl+Enter there submits", () => {
    const { form, notebook, submitted } = setup(
      '<textarea id="t"></textarea><button type="submit">Go</button>',
    );
    const t = form.querySelector("#t");
    const plain = press(t, "Enter");
    expect(plain.defaultPrevented).toBe(false);
    expect(submitted).not.toHaveBeenCalled();
    press(t, "Enter", { ctrlKey: true });
    expect(submitted).toHaveBeenCalledTimes(1);
    expect(notebook).not.toHaveBeenCalled();
  });

  it("Escape cancels the form and stays in the widget", () => {
    const { form, notebook, cancel } = setup('<input id="a"><button type="submit">Go</button>');
    press(form.querySelector("#a"), "Escape");
    expect(cancel).toHaveBeenCalledTimes(1);
    expect(notebook).not.toHaveBeenCalled();
  });

  it("finds a form's first field before its buttons", () => {
    const { form } = setup('<button type="button">x</button><select id="s"></select><input>');
    expect(firstField(form)?.id).toBe("s");
  });
});

describe("dialog keys", () => {
  function dialog() {
    const d = document.createElement("div");
    d.innerHTML = '<input id="first"><button id="mid">b</button><button id="last">c</button>';
    document.body.appendChild(d);
    return d;
  }

  it("Tab from the last control goes to the first, Shift+Tab from the first to the last", () => {
    const d = dialog();
    const close = vi.fn();
    d.querySelector("#last").focus();
    const e = new KeyboardEvent("keydown", { key: "Tab", bubbles: true, cancelable: true });
    dialogKeyDown(e, d, close);
    expect(e.defaultPrevented).toBe(true);
    expect(document.activeElement?.id).toBe("first");
    const back = new KeyboardEvent("keydown", {
      key: "Tab",
      shiftKey: true,
      bubbles: true,
      cancelable: true,
    });
    dialogKeyDown(back, d, close);
    expect(document.activeElement?.id).toBe("last");
    // In the middle, Tab is the browser's own.
    d.querySelector("#mid").focus();
    const mid = new KeyboardEvent("keydown", { key: "Tab", bubbles: true, cancelable: true });
    dialogKeyDown(mid, d, close);
    expect(mid.defaultPrevented).toBe(false);
    expect(close).not.toHaveBeenCalled();
  });

  it("Escape closes it", () => {
    const d = dialog();
    const close = vi.fn();
    const e = new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true });
    dialogKeyDown(e, d, close);
    expect(close).toHaveBeenCalledTimes(1);
  });
});
