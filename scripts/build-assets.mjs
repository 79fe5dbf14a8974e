// Builds kinfold's static assets from node_modules into src/kinfold/web/static/kinfold/.
// Run by `make assets`; the output is generated and not committed.
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "src/kinfold/web/static/kinfold");
const govuk = join(root, "node_modules/govuk-frontend/dist/govuk");
mkdirSync(out, { recursive: true });

const css = sass.compile(join(root, "src/kinfold/web/assets/kinfold.scss"), {
  importers: [new sass.NodePackageImporter(root)],
  style: "compressed",
  quietDeps: true,
  silenceDeprecations: ["import"],
});
writeFileSync(join(out, "kinfold.css"), css.css);

cpSync(join(govuk, "govuk-frontend.min.js"), join(out, "govuk-frontend.min.js"));
cpSync(join(govuk, "assets/images"), join(out, "govuk/images"), { recursive: true });
// No GDS Transport fonts: they are for GOV.UK services only.
writeFileSync(
  join(out, "init.mjs"),
  [
    "// Progressive enhancement: pages work without this; it only adds GOV.UK Frontend's behaviour.",
    'import { initAll } from "./govuk-frontend.min.js";',
    'document.body.classList.add("js-enabled", "govuk-frontend-supported");',
    "initAll();",
    "",
  ].join("\n"),
);
console.log(`built assets in ${out}`);
