// htm bound to Preact: tagged templates that escape every interpolated value by default.
import htm from "htm";
import { h } from "preact";

export const html = htm.bind(h);
