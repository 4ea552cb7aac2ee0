// Loads every page of the built book in headless Chromium, twice: at desktop width
// in the default theme, and at a phone's width (390 px) in the dark "navy" theme.
// It fails on
//   - any console error, failed or outside request, `katex-error` element, or KaTeX
//     font that did not load;
//   - a formula without MathML beside its HTML rendering (screen readers read the
//     MathML; KaTeX marks its HTML rendering aria-hidden);
//   - a page wider than the viewport, a content area that scrolls sideways, and any
//     element or text that sticks out of the text column without sitting inside its
//     own scrolling box (a display formula, a code block, a table);
//   - a display formula cut off at its top or bottom by its scrolling box;
//   - an image without alt text that describes it (at least eight words, not its
//     file name);
//   - in the dark theme, text or math whose contrast with the page is below 4.5:1
//     (WCAG AA), or a figure with a transparent background (its dark lines would
//     sit on the dark page).
// Run it with networking off (see .ci/run).
//
//   node scripts/browser/check.mjs target/book [--screenshots DIR page.html ...]
//
// CHECK_PAGES=a.html,b.html limits the run to those pages (while working on them).
//
// Screenshots are taken in both passes, named <page>.<pass>.png.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";
import { serve, htmlPages, launch, measure } from "./common.mjs";

const args = process.argv.slice(2);
const root = path.resolve(args[0] ?? "target/book");
const shotAt = args.indexOf("--screenshots");
const shotDir = shotAt >= 0 ? path.resolve(args[shotAt + 1]) : null;
const shotPages = shotAt >= 0 ? args.slice(shotAt + 2) : [];

const { server, base } = await serve(root);
const browser = await launch(chromium);

const passes = [
  { name: "desktop", theme: null, context: { viewport: { width: 1200, height: 900 } } },
  {
    name: "phone",
    theme: "navy",
    context: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true },
  },
];

const problems = [];
const stats = { pages: 0, withMath: 0, formulas: 0, displays: 0, scrolling: {}, widest: {} };

for (const pass of passes) {
  const context = await browser.newContext(pass.context);
  if (pass.theme) {
    await context.addInitScript((theme) => localStorage.setItem("mdbook-theme", theme), pass.theme);
  }
  // The print page would open the print dialog.
  await context.addInitScript(() => { window.print = () => {}; });
  stats.scrolling[pass.name] = 0;
  stats.widest[pass.name] = 0;
  const only = process.env.CHECK_PAGES?.split(",");
  for (const name of htmlPages(root).filter((n) => !only || only.includes(n))) {
    const page = await context.newPage();
    const where = (what) => problems.push(`${name} [${pass.name}]: ${what}`);
    page.on("console", (m) => { if (m.type() === "error") where(`console error: ${m.text()}`); });
    page.on("pageerror", (e) => where(`page error: ${e.message}`));
    page.on("requestfailed", (r) => where(`failed request: ${r.url()} (${r.failure()?.errorText})`));
    page.on("response", (r) => { if (r.status() >= 400) where(`HTTP ${r.status()}: ${r.url()}`); });
    await page.route("**/*", (route) =>
      route.request().url().startsWith(base) ? route.continue() : (where(`outside request: ${route.request().url()}`), route.abort()));
    const tLoad = Date.now();
    await page.goto(`${base}/${name}`, { waitUntil: "load", timeout: 180_000 });
    if (process.env.CHECK_TIMES) console.log(`${name} [${pass.name}]: loaded in ${Date.now() - tLoad} ms`);
    if (pass.theme) {
      // mdBook's toc.html (the sidebar's fallback) has no theme and no <main>.
      const [theme, hasMain] = await page.evaluate(() => [document.documentElement.className, !!document.querySelector("main")]);
      if (hasMain && !theme.split(/\s+/).includes(pass.theme)) where(`theme ${pass.theme} not applied (html class "${theme}")`);
    }
    const t0 = Date.now();
    const r = await page.evaluate(measure, { contrast: pass.theme !== null, print: false });
    if (process.env.CHECK_TIMES) console.log(`${name} [${pass.name}]: measured in ${Date.now() - t0} ms`);
    for (const p of r.problems) where(p);
    if (r.errors > 0) where(`${r.errors} katex-error element(s)`);
    if (r.katex > 0) {
      if (!r.fontLoaded) where("no KaTeX_Main face with status 'loaded' in document.fonts");
      if (!/KaTeX/.test(r.family ?? "")) where(`.katex font-family is ${r.family}`);
      if (r.noMathml > 0) where(`${r.noMathml} of ${r.katex} formulas have no MathML for screen readers`);
      if (r.htmlNotHidden > 0) where(`${r.htmlNotHidden} formulas' HTML rendering is not aria-hidden`);
    }
    if (pass.name === "desktop") {
      stats.pages += 1;
      if (r.katex > 0) stats.withMath += 1;
      if (name !== "print.html") { stats.formulas += r.katex; stats.displays += r.displays ?? 0; }
    }
    if (name !== "print.html") {
      stats.scrolling[pass.name] += r.scrolling ?? 0;
      if (pass.name === "phone") (stats.wide ??= []).push(...(r.wide ?? []).map((w) => ({ ...w, name })));
    }
    stats.widest[pass.name] = Math.max(stats.widest[pass.name], r.widest ?? 0);
    stats.column ??= {};
    stats.column[pass.name] = r.column;
    if (shotDir && shotPages.includes(name)) {
      fs.mkdirSync(shotDir, { recursive: true });
      await page.screenshot({ path: path.join(shotDir, `${name.replace(/[\/]/g, "_")}.${pass.name}.png`), fullPage: false });
    }
    await page.close();
  }
  await context.close();
}
await browser.close();
server.close();
console.log(`browser check: ${stats.pages} pages (each at ${passes.map((p) => `${p.context.viewport.width} px${p.theme ? ` in ${p.theme}` : ""}`).join(" and ")}), ` +
  `${stats.withMath} with math, ${stats.formulas} formulas (${stats.displays} display) outside the print page, ${problems.length} problems`);
for (const p of passes) {
  console.log(`  ${p.name}: text column ${stats.column?.[p.name]} px; ${stats.scrolling[p.name]} display formulas are wider than it; widest ${stats.widest[p.name]} px`);
}
// Not problems, but where a long derivation might read better broken into lines.
const wide = (stats.wide ?? []).sort((a, b) => b.width - a.width).slice(0, 10);
if (wide.length) console.log(`  widest display formulas at ${passes[1].context.viewport.width} px (they scroll; consider \\begin{aligned}):`);
for (const w of wide) console.log(`    ${w.width} px  ${w.name}: ${w.what}`);
for (const p of problems) console.log(`  ${p}`);
process.exit(problems.length === 0 && stats.pages > 0 ? 0 : 1);
