// The PDF edition: prints the built book's print page (target/book/print.html) to
// a PDF with the same headless Chromium the browser check uses, then opens the
// PDF with poppler-utils and checks it. Run through `bash scripts/book.sh pdf`.
//
//   node scripts/browser/pdf.mjs target/book target/descent.pdf
//   node scripts/browser/pdf.mjs target/book target/descent-lean.pdf --without-tests
//
// With --without-tests the PDF leaves out the Tests appendix (every test's
// source, about 260 of the pages): the test names in the claims stay as text
// (file and name, e.g. tests/adam.rs::adam_step) and the title page says that
// the web edition links each one to its source.
//
// The PDF has a title page with the version from Cargo.toml and the citation from
// CITATION.cff (whose version must match), a contents page with the web book's
// chapter numbers and the page each chapter starts on, page numbers, the fonts
// embedded, the figures, and every chapter. The check fails when
//   - the page logs an error, a request fails or leaves the book, a figure does not
//     load, or anything is wider than the printed column (formulas wider than it
//     are first shrunk to fit, down to 60 % of their size);
//   - a font is not embedded, or the PDF has fewer pages than title page and
//     contents plus one page per chapter;
//   - a chapter title from book/src/SUMMARY.md does not head a page (after its
//     number), the chapters are out of order, or a chapter does not start on the
//     page the contents give;
//   - the text holds `katex-error`, `$$`, or a TeX command such as `\frac`.
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { serve, launch, measure, dropTestsAppendix } from "./common.mjs";

const withoutTests = process.argv.includes("--without-tests");
const [bookDir = "target/book", out = "target/descent.pdf"] = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const root = path.resolve(bookDir);
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const problems = [];

// Metadata: the version is Cargo's; CITATION.cff must name the same one.
const cargo = fs.readFileSync(path.join(repo, "Cargo.toml"), "utf8");
const version = cargo.match(/^\[package\][^[]*?^version\s*=\s*"([^"]+)"/ms)?.[1];
const cff = fs.readFileSync(path.join(repo, "CITATION.cff"), "utf8");
const field = (name) => cff.match(new RegExp(`^${name}:\\s*"?([^"\\n]+?)"?\\s*$`, "m"))?.[1];
const cffVersion = field("version");
const title = field("title");
const released = field("date-released");
const authors = [...cff.split(/^references:/m)[0].matchAll(/^\s+- name:\s*"?([^"\n]+?)"?\s*$/gm)].map((m) => m[1]);
if (!version) problems.push("Cargo.toml: no [package] version");
if (cffVersion !== version) problems.push(`CITATION.cff says version ${cffVersion}, Cargo.toml ${version}`);
const year = (released ?? "").slice(0, 4);
const citation = `${authors.join(", ")}. ${title}. Version ${version}, ${year}.`;

// Chapter titles, in reading order, from SUMMARY.md's links.
const summary = fs.readFileSync(path.join(repo, "book/src/SUMMARY.md"), "utf8");
const chapters = [...summary.matchAll(/\[([^\]]+)\]\(([^)]+\.md)\)/g)]
  .filter((m) => !(withoutTests && m[2] === "tests.md")).map((m) => m[1]);

// The sidebar's numbering ("9. Adam"), read from mdBook's toc.html, so that the
// PDF's chapters carry the same numbers as the web book's.
const toc = fs.readFileSync(path.join(root, "toc.html"), "utf8");
const entries = [...toc.matchAll(/<li class="part-title">([^<]+)<\/li>|<a href="[^"]+"[^>]*>(?:<strong aria-hidden="true">([\d.]+)<\/strong>\s*)?([^<]+)<\/a>/g)]
  .map((m) => (m[1] ? { part: m[1].trim() } : { number: m[2]?.replace(/\.$/, "") ?? null, title: m[3].trim() }))
  .filter((e) => !(withoutTests && e.title === "Tests"));

// A4 with 20 mm margins left and right; the page number sits in the bottom one.
const mm = 96 / 25.4;
const margin = { top: 18, bottom: 20, left: 20, right: 20 };
const column = Math.floor((210 - margin.left - margin.right) * mm);

const { server, base } = await serve(root);
const browser = await launch(chromium);
const page = await browser.newPage({ viewport: { width: column, height: 1000 } });
page.on("console", (m) => { if (m.type() === "error") problems.push(`console error: ${m.text()}`); });
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("requestfailed", (r) => problems.push(`failed request: ${r.url()} (${r.failure()?.errorText})`));
page.on("response", (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
await page.route("**/*", (route) =>
  route.request().url().startsWith(base) ? route.continue() : (problems.push(`outside request: ${route.request().url()}`), route.abort()));
// The print page opens the print dialog on load; here Chromium prints instead.
await page.addInitScript(() => { window.print = () => {}; });
await page.emulateMedia({ media: "print" });
await page.goto(`${base}/print.html`, { waitUntil: "load", timeout: 300_000 });
if (withoutTests) {
  const { removed, unlinked } = await page.evaluate(dropTestsAppendix);
  if (removed === 0) problems.push("--without-tests: the print page has no Tests chapter to leave out");
  console.log(`pdf: left out the Tests appendix (${removed} elements), ${unlinked} links to it now plain text`);
}

// The title page.
await page.evaluate(({ title, version, released, authors, citation, withoutTests }) => {
  const main = document.querySelector("main");
  const section = document.createElement("section");
  section.className = "descent-title-page";
  const line = (tag, text, style) => {
    const el = document.createElement(tag);
    el.textContent = text;
    if (style) el.setAttribute("style", style);
    section.append(el);
  };
  const [head, ...rest] = title.split(": ");
  line("p", head, "font-size: 3.2em; font-weight: bold; margin: 0");
  if (rest.length) line("p", rest.join(": "), "font-size: 1.6em; margin: 0.3em 0 2em");
  line("p", authors.join(", "), "font-size: 1.2em");
  line("p", `Version ${version}, released ${released}`, "font-size: 1.2em");
  line("p", "Please cite this edition as:", "margin-top: 4em");
  line("p", citation, "font-style: italic");
  line("p", "A single claim can be cited by its identifier, which is also the anchor of its proof, e.g. “Descent, claim adam-bias-correction”.", "font-size: 0.9em");
  if (withoutTests) line("p", "This edition leaves out the Tests appendix, the source of every test. A test named in a claim, such as tests/adam.rs::adam_bias_correction_constant_gradient, is the function of that name in that file of the crate; the web edition links each name to its source.", "font-size: 0.9em");
  line("p", "Code under MIT or Apache-2.0, text under CC-BY-4.0.", "font-size: 0.9em; margin-top: 2em");
  main.prepend(section);
}, { title, version, released, authors, citation, withoutTests });

// A contents page after the title page, and each chapter's number before its
// title. Page numbers are filled in after a first printing (below).
const contentsMissing = await page.evaluate((entries) => {
  const main = document.querySelector("main");
  const h1s = [...main.querySelectorAll("h1")];
  const section = document.createElement("section");
  section.className = "descent-contents";
  const head = document.createElement("h2");
  head.textContent = "Contents";
  section.append(head);
  const list = document.createElement("ol");
  section.append(list);
  const missing = [];
  for (const e of entries) {
    const li = document.createElement("li");
    if (e.part) {
      li.className = "descent-part";
      li.textContent = e.part;
    } else {
      const h1 = h1s.find((h) => h.textContent.trim() === e.title);
      if (!h1) { missing.push(e.title); continue; }
      if (e.number) {
        const n = document.createElement("span");
        n.className = "descent-chapter-number";
        n.textContent = `${e.number}. `;
        h1.prepend(n);
      }
      const a = document.createElement("a");
      a.href = `#${h1.id}`;
      a.textContent = e.number ? `${e.number}. ${e.title}` : e.title;
      const leader = document.createElement("span");
      leader.className = "descent-leader";
      const pageNo = document.createElement("span");
      pageNo.className = "descent-page";
      pageNo.dataset.title = e.title;
      pageNo.textContent = "000";
      li.append(a, leader, pageNo);
    }
    list.append(li);
  }
  main.querySelector(".descent-title-page").after(section);
  return missing;
}, entries);
for (const t of contentsMissing) problems.push(`chapter "${t}" (toc.html) has no <h1> with that text in the print page`);

// Paper does not scroll: a table wider than the column is printed row by row
// (book/css/reading.css), each cell labelled with its column's name.
const stacked = await page.evaluate(() => {
  let n = 0;
  for (const table of document.querySelectorAll("main table")) {
    const box = table.parentElement.getBoundingClientRect();
    if (table.getBoundingClientRect().width <= box.width + 1) continue;
    const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const tr of table.querySelectorAll("tbody tr")) {
      [...tr.children].forEach((td, i) => td.setAttribute("data-label", names[i] ?? ""));
    }
    table.classList.add("descent-stacked");
    n += 1;
  }
  return n;
});

// Paper does not scroll: shrink each display formula wider than the column until
// it fits, but not below 60 % (KaTeX's script sizes would then be about 4 pt).
const shrunk = await page.evaluate(async () => {
  await document.fonts.ready;
  const scales = [];
  for (const d of document.querySelectorAll("main .katex-display")) {
    const k = d.querySelector(".katex");
    const base = parseFloat(getComputedStyle(k).fontSize);
    let scale = 1;
    for (let i = 0; i < 4 && d.scrollWidth > d.clientWidth + 1; i++) {
      scale = Math.max(0.6, scale * (d.clientWidth - 2) / d.scrollWidth);
      k.style.fontSize = `${base * scale}px`;
      if (scale === 0.6) break;
    }
    if (scale < 1) scales.push(scale);
  }
  return scales;
});

const layout = await page.evaluate(measure, { contrast: false, print: true });
for (const p of layout.problems) problems.push(`print layout: ${p}`);
if (layout.errors > 0) problems.push(`${layout.errors} katex-error element(s)`);
if (layout.katex > 0 && layout.noMathml > 0) problems.push(`${layout.noMathml} formulas without MathML`);
const figures = await page.evaluate(() => document.querySelectorAll("main img").length);
// The text of every code block and code span: source listings (the Tests
// appendix quotes this project's tests) may spell `$$` or `\frac` on purpose.
const codeText = await page.evaluate(() =>
  [...document.querySelectorAll("main pre, main code")].map((c) => c.textContent).join("\n"));

fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
const footer = `<div style="font-size: 8pt; width: 100%; text-align: center; color: #444;">
  Descent ${version} &middot; <span class="pageNumber"></span> / <span class="totalPages"></span></div>`;
// The draft only has to place the pages: no tags, no outline (both cost time).
const print = (file, final = true) => page.pdf({
  path: file,
  format: "A4",
  margin: Object.fromEntries(Object.entries(margin).map(([k, v]) => [k, `${v}mm`])),
  printBackground: true,
  displayHeaderFooter: true,
  headerTemplate: "<span></span>",
  footerTemplate: footer,
  outline: final,
  tagged: final,
});
const run = (cmd, args) => execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 28 });
const norm = (s) => s.normalize("NFKC").replace(/\u00ad/g, "").replace(/[ \t]+/g, " ").trim();
const pagesOf = (file) => run("pdftotext", ["-enc", "UTF-8", file, "-"]).split("\f").map((p) => p.split("\n").map(norm));
// Every chapter starts a page (mdBook's print page breaks before each), so its
// title, after its number, is the first line of a page, after the previous
// chapter's; the pages after the title page and the contents are searched.
const chapterStarts = (pageTexts) => {
  let last = 0;
  const starts = new Map();
  for (const t of chapters) {
    // A long title may wrap onto a second line of the page.
    const heads = (lines) => {
      const [a = "", b = ""] = lines.filter((l) => l);
      const first = a.replace(/^\d+\. /, "");
      return first === norm(t) || `${first} ${b}` === norm(t);
    };
    const at = pageTexts.findIndex((lines, i) => i > last && heads(lines));
    if (at >= 0) { last = at; starts.set(t, at + 1); }
  }
  return starts;
};

// First printing: find where each chapter starts, write it into the contents.
const draft = `${out}.draft.pdf`;
await print(draft, false);
const draftStarts = chapterStarts(pagesOf(draft));
fs.rmSync(draft);
await page.evaluate((starts) => {
  for (const span of document.querySelectorAll(".descent-contents .descent-page")) {
    span.textContent = String(starts[span.dataset.title] ?? "?");
  }
}, Object.fromEntries(draftStarts));
await print(out);
await browser.close();
server.close();

// Open the PDF and check it.
const info = run("pdfinfo", [out]);
const pages = Number(info.match(/^Pages:\s+(\d+)/m)?.[1] ?? 0);
if (pages < chapters.length + 2) problems.push(`${pages} pages for ${chapters.length} chapters, a title page and the contents`);

const fonts = run("pdffonts", [out]).split("\n").slice(2).filter((l) => l.trim());
// pdffonts columns: name type encoding emb sub uni object-id; "emb" is the 4th
// from the end whatever spaces the name and type contain.
const notEmbedded = fonts.filter((l) => l.trim().split(/\s+/).slice(-5)[0] !== "yes");
for (const l of notEmbedded) problems.push(`font not embedded: ${l.trim()}`);

const pageTexts = pagesOf(out);
if (!pageTexts[0].some((l) => l.includes(`Version ${version}`))) problems.push(`the title page does not say "Version ${version}"`);
if (!pageTexts[0].some((l) => l.includes(citation.slice(0, 40)))) problems.push("the title page has no citation");
const found = chapterStarts(pageTexts);
const starts = chapters.map((t) => found.get(t) ?? "?");
for (const t of chapters) {
  if (!found.has(t)) problems.push(`chapter "${t}" (SUMMARY.md) does not head a page after the previous chapter`);
  else if (found.get(t) !== draftStarts.get(t)) problems.push(`chapter "${t}" starts on page ${found.get(t)}, the contents say ${draftStarts.get(t)}`);
}
// Raw TeX or a failed formula in the text, outside code: a hit counts unless the
// stretch of its line around it (a wrapped code line is cut at the margin) is
// quoted from a code block or span.
const code = codeText.normalize("NFKC").replace(/[ \t]+/g, " ");
const leaks = [["katex-error", /katex-error/g], ["$$", /\$\$/g],
  ["a TeX command", /\\(frac|sqrt|mathrm|mathbf|left|right|begin|end|sum|hat|tilde|theta|alpha|beta|eta|epsilon|nabla|top|cdot|le|ge)\b/g]];
// Is the hit at `at` on `line` quoted from code? Some stretch of the line that
// holds the hit and reaches at least 2 characters beyond it is in the code text.
const inCode = (line, at, len) => {
  for (let left = 0; left <= 12; left++) {
    for (let right = Math.max(0, 2 - left); right <= 12; right++) {
      if (at - left < 0 || at + len + right > line.length) continue;
      if (code.includes(line.slice(at - left, at + len + right))) return true;
    }
  }
  return false;
};
let quoted = 0;
for (const [p, lines] of pageTexts.entries()) {
  for (const line of lines) {
    for (const [what, re] of leaks) {
      for (const m of line.matchAll(re)) {
        if (code.includes(line) || inCode(line, m.index, m[0].length)) { quoted += 1; continue; }
        problems.push(`page ${p + 1}: the text holds ${what} outside code: "${line.slice(0, 120)}"`);
      }
    }
  }
}

const size = fs.statSync(out).size;
console.log(`pdf: ${out}, ${pages} pages, ${(size / 1e6).toFixed(1)} MB, version ${version}; ` +
  `${chapters.length} chapters, ${figures} figures, ${fonts.length} fonts (all embedded: ${notEmbedded.length === 0}); ` +
  `${quoted} TeX-like strings inside code listings (allowed); ${stacked} wide tables printed row by row; ${shrunk.length} display formulas shrunk to fit the ${column} px column (smallest to ${Math.round(100 * Math.min(1, ...shrunk))} %); ` +
  `${problems.length} problems`);
console.log(`  chapters start on pages ${starts.join(", ")}`);
for (const p of problems) console.log(`  ${p}`);
process.exit(problems.length === 0 ? 0 : 1);
