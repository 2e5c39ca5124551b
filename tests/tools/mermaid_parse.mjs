// Parse mermaid diagrams with mermaid's own parser: `node mermaid_parse.mjs <node_modules> <diagram>...`.
// Prints one JSON list, an entry per diagram: {"ok": true, "type": ...} or {"ok": false, "error": ...}.
// mermaid expects a browser; jsdom stands in for one (DOMPurify needs a window).
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, ...diagrams] = process.argv.slice(2);
const resolve = createRequire(join(modules, "package.json")).resolve;
const load = async (name) => import(pathToFileURL(resolve(name)).href);
const { JSDOM } = await load("jsdom");
const dom = new JSDOM("<!DOCTYPE html><body></body>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const mermaid = (await load("mermaid")).default;
const results = [];
for (const text of diagrams) {
  try {
    const parsed = await mermaid.parse(text);
    results.push({ ok: true, type: parsed.diagramType });
  } catch (error) {
    results.push({ ok: false, error: String(error?.message ?? error) });
  }
}
console.log(JSON.stringify(results));
