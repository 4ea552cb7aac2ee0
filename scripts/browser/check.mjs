// Loads every page of the built book in headless Chromium and fails on any console
// error, failed or outside request, `katex-error` element, or KaTeX font that did
// not load. Run it with networking off (see .ci/run).
//
//   node scripts/browser/check.mjs target/book [--screenshots DIR page.html ...]
import { chromium } from "playwright-core";
import http from "node:http";
import fs from "node:fs";
import path from "node:path";

const args = process.argv.slice(2);
const root = path.resolve(args[0] ?? "target/book");
const shotAt = args.indexOf("--screenshots");
const shotDir = shotAt >= 0 ? path.resolve(args[shotAt + 1]) : null;
const shotPages = shotAt >= 0 ? args.slice(shotAt + 2) : [];

const types = {
  ".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml",
  ".png": "image/png", ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf",
  ".json": "application/json", ".txt": "text/plain",
};

const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  let file = path.join(root, decodeURIComponent(url.pathname));
  if (!file.startsWith(root)) { res.writeHead(403); res.end(); return; }
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, "index.html");
  fs.readFile(file, (err, data) => {
    if (err) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { "content-type": types[path.extname(file)] ?? "application/octet-stream" });
    res.end(data);
  });
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const base = `http://127.0.0.1:${server.address().port}`;

function pages(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? pages(p) : e.name.endsWith(".html") ? [path.relative(root, p)] : [];
  });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const problems = [];
let checked = 0;
let withMath = 0;
for (const name of pages(root).sort()) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const where = (what) => problems.push(`${name}: ${what}`);
  page.on("console", (m) => { if (m.type() === "error") where(`console error: ${m.text()}`); });
  page.on("pageerror", (e) => where(`page error: ${e.message}`));
  page.on("requestfailed", (r) => where(`failed request: ${r.url()} (${r.failure()?.errorText})`));
  page.on("response", (r) => { if (r.status() >= 400) where(`HTTP ${r.status()}: ${r.url()}`); });
  await page.route("**/*", (route) =>
    route.request().url().startsWith(base) ? route.continue() : (where(`outside request: ${route.request().url()}`), route.abort()));
  await page.goto(`${base}/${name}`, { waitUntil: "load" });
  const report = await page.evaluate(async () => {
    await document.fonts.ready;
    const katex = document.querySelectorAll(".katex").length;
    let fontLoaded = null, family = null;
    if (katex > 0) {
      try { await document.fonts.load("16px KaTeX_Main"); } catch (e) { /* reported below */ }
      fontLoaded = [...document.fonts].some(
        (f) => f.family.replace(/["']/g, "") === "KaTeX_Main" && f.status === "loaded");
      family = getComputedStyle(document.querySelector(".katex")).fontFamily;
    }
    return { katex, errors: document.querySelectorAll(".katex-error").length, fontLoaded, family };
  });
  if (report.errors > 0) where(`${report.errors} katex-error element(s)`);
  if (report.katex > 0) {
    withMath += 1;
    if (!report.fontLoaded) where("no KaTeX_Main face with status 'loaded' in document.fonts");
    if (!/KaTeX/.test(report.family ?? "")) where(`.katex font-family is ${report.family}`);
  }
  if (shotDir && shotPages.includes(name)) {
    fs.mkdirSync(shotDir, { recursive: true });
    await page.screenshot({ path: path.join(shotDir, name.replace(/[\/]/g, "_") + ".png"), fullPage: false });
  }
  checked += 1;
  await page.close();
}
await browser.close();
server.close();
console.log(`browser check: ${checked} pages, ${withMath} with math, ${problems.length} problems`);
for (const p of problems) console.log(`  ${p}`);
process.exit(problems.length === 0 && checked > 0 ? 0 : 1);
