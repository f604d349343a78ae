// Build the editor's frontend into the Python package (../src/spark_editor/static), or into --outdir DIR.
// The output is committed, so `pip install spark-editor` needs no Node.js; tests/test_bundle.py rebuilds it
// into a temporary folder and fails if the committed files differ.

import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const at = args.indexOf("--outdir");
const outdir = resolve(at >= 0 ? args[at + 1] : join(here, "..", "src", "spark_editor", "static"));
const watch = args.includes("--watch");

const options = {
  entryPoints: { editor: join(here, "src", "main.tsx") },
  outdir,
  bundle: true,
  minify: !watch,
  sourcemap: false,
  format: "iife",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  jsx: "automatic",
  define: { "process.env.NODE_ENV": watch ? '"development"' : '"production"' },
  legalComments: "none",
  charset: "utf8",
  logLevel: "info",
};

mkdirSync(outdir, { recursive: true });
copyFileSync(join(here, "index.html"), join(outdir, "index.html"));
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
