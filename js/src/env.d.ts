// esbuild bundles CSS imported from JS into widget.css.
declare module "*.css";
