// Bundle the frontend into the Python package: registry_widget/static/widget.{js,css}.
//   node build.mjs          one minified build (used by the Python build hook)
//   node build.mjs --watch  rebuild on every save (with ANYWIDGET_HMR=1 in the kernel)
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const watch = process.argv.includes("--watch");
const outdir = fileURLToPath(new URL("../registry_widget/static/", import.meta.url));

/** @type {import("esbuild").BuildOptions} */
const options = {
  entryPoints: { widget: fileURLToPath(new URL("./src/index.js", import.meta.url)) },
  bundle: true,
  format: "esm",
  target: ["es2020"],
  outdir,
  minify: !watch,
  sourcemap: watch ? "inline" : false,
  legalComments: "none",
  logLevel: "info",
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
