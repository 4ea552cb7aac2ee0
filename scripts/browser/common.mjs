// Pieces shared by check.mjs (the book in a browser) and pdf.mjs (the PDF edition):
// a static file server on loopback, the list of pages, and headless Chromium
// started the same way for both.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";

const types = {
  ".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml",
  ".png": "image/png", ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf",
  ".json": "application/json", ".txt": "text/plain",
};

/** Serves the folder `root` on 127.0.0.1 at a free port. */
export async function serve(root) {
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
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

/** Every .html file under `root`, relative to it, sorted. */
export function htmlPages(root, dir = root) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? htmlPages(root, p) : e.name.endsWith(".html") ? [path.relative(root, p)] : [];
  }).sort();
}

/** Headless Chromium (the system's, or $CHROMIUM) with background networking off. */
export function launch(chromium) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * Runs inside a page (`page.evaluate(measure, options)`): everything the browser
 * check and the PDF check measure, as plain data, with `problems` in words.
 * `contrast`: also check contrast and figure backgrounds (for a dark theme).
 * `print`: the page is laid out for paper, where a scrolling box cannot scroll,
 * so anything wider than its box counts as cut off.
 */
export async function measure({ contrast: wantContrast, print }) {
  await document.fonts.ready;
  const out = { problems: [] };
  const bad = (what) => out.problems.push(what);
  const describe = (el) => {
    // A formula is named by its TeX source (the MathML's annotation).
    const tex = el.closest(".katex, .katex-display") ? el.closest(".katex, .katex-display").querySelector("annotation") : null;
    const text = (tex ? `$${tex.textContent}$` : el.textContent || "").replace(/\s+/g, " ").trim().slice(0, 70);
    const cls = el.className && typeof el.className === "string" ? "." + el.className.split(" ")[0] : "";
    const head = el.closest("main") ? [...document.querySelectorAll("main h1, main h2, main h3")]
      .filter((h) => h.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING).pop() : null;
    return `<${el.tagName.toLowerCase()}${cls}> "${text}"${head ? ` (under "${head.textContent.trim().slice(0, 40)}")` : ""}`;
  };

  // KaTeX and its fonts.
  const katex = [...document.querySelectorAll(".katex")];
  out.katex = katex.length;
  out.errors = document.querySelectorAll(".katex-error").length;
  if (katex.length > 0) {
    try { await document.fonts.load("16px KaTeX_Main"); } catch (e) { /* reported below */ }
    out.fontLoaded = [...document.fonts].some(
      (f) => f.family.replace(/["']/g, "") === "KaTeX_Main" && f.status === "loaded");
    out.family = getComputedStyle(katex[0]).fontFamily;
  }

  // MathML for screen readers: every formula has a <math> element, and the HTML
  // rendering beside it is hidden from assistive technology (else it is read twice,
  // as noise).
  out.noMathml = katex.filter((k) => !k.querySelector(".katex-mathml math")).length;
  out.htmlNotHidden = katex.filter((k) => {
    const html = k.querySelector(".katex-html");
    return html && html.getAttribute("aria-hidden") !== "true";
  }).length;
  out.displays = document.querySelectorAll("main .katex-display").length;

  // Layout. `main` is the text column.
  const main = document.querySelector("main");
  const vw = document.documentElement.clientWidth;
  out.viewport = vw;
  out.pageWidth = document.documentElement.scrollWidth;
  if (out.pageWidth > vw) bad(`the page is ${out.pageWidth} px wide in a ${vw} px viewport`);
  const content = document.querySelector("#mdbook-content, .content");
  if (content && content.scrollWidth > content.clientWidth + 1) {
    bad(`the content area is ${content.scrollWidth} px wide where it shows ${content.clientWidth} px: it slides sideways`);
  }
  if (main) {
    const col = main.getBoundingClientRect();
    out.column = Math.round(col.width);
    if (col.left < -1 || col.right > vw + 1) bad(`the text column (${col.left.toFixed(0)}..${col.right.toFixed(0)} px) leaves the viewport`);
    // Rects are fractional and edges rounded (1 px), and KaTeX pulls a subscript's
    // box 2 px to the right with a negative margin (`.vlist-t2`), past its ink: so a
    // box may reach 3 px beyond the column before it counts as sticking out.
    const slack = 3;
    const outside = (r) => r.width > 0 && (r.left < col.left - slack || r.right > col.right + slack);
    const scrolls = (el) => /^(auto|scroll)$/.test(getComputedStyle(el).overflowX);
    const clips = (el) => /^(hidden|clip)$/.test(getComputedStyle(el).overflowX);
    // What contains an overflowing node: a scrolling box inside the column (fine),
    // a clipping box (fine inside KaTeX's own drawing and its screen-reader-only
    // MathML; anywhere else it cuts text off), or nothing up to `main` (the node
    // widens the column).
    const container = (node) => {
      for (let el = node.parentElement; el && el !== main; el = el.parentElement) {
        if (scrolls(el)) return { kind: print ? "clip" : "scroll", el };
        if (clips(el)) return { kind: el.closest(".katex") ? "katex" : "clip", el };
      }
      return { kind: "none" };
    };
    const offenders = new Set();
    const cut = new Set();
    const consider = (node, rect) => {
      if (!outside(rect)) return;
      const c = container(node);
      if (c.kind === "none") offenders.add(node.nodeType === 1 ? node : node.parentElement);
      else if (c.kind === "clip") cut.add(c.el);
    };
    for (const el of main.querySelectorAll("*")) {
      if (el.closest(".katex-mathml")) continue;
      consider(el, el.getBoundingClientRect());
    }
    const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      if (!t.textContent.trim() || t.parentElement.closest(".katex-mathml")) continue;
      range.selectNodeContents(t);
      consider(t, range.getBoundingClientRect());
    }
    // Report the outermost offender only: one wide formula is one problem.
    const lifted = new Set([...offenders].map((el) => el.closest(".katex-display") ?? el.closest(".katex") ?? el));
    const top = [...lifted].filter((el) => ![...lifted].some((o) => o !== el && o.contains(el)));
    for (const el of top) {
      const r = el.getBoundingClientRect();
      const kind = el.closest(".katex-display") || el.querySelector(".katex-display") ? "a display formula"
        : el.closest("pre") || el.querySelector("pre") ? "a code block"
        : el.closest("table") || el.querySelector("table") ? "a table"
        : el.closest(".katex") ? "inline math" : "text";
      bad(`${kind} reaches ${r.left.toFixed(0)}..${r.right.toFixed(0)} px, outside the ${col.left.toFixed(0)}..${col.right.toFixed(0)} px column: ${describe(el)}`);
    }
    for (const el of cut) bad(`text is cut off by its box (overflow-x: ${getComputedStyle(el).overflowX}${print ? ", on paper" : ""}): ${describe(el)}`);

    // Display formulas: how many scroll, the widest, and none clipped vertically.
    out.scrolling = 0;
    out.widest = 0;
    out.wide = [];
    for (const d of main.querySelectorAll(".katex-display")) {
      out.widest = Math.max(out.widest, d.scrollWidth);
      if (d.scrollWidth > d.clientWidth + 1) {
        out.scrolling += 1;
        out.wide.push({ width: d.scrollWidth, what: describe(d) });
        // A centred line wider than its box would overflow on the left too, and
        // a scrolling box cannot scroll to what lies left of its start.
        range.selectNodeContents(d);
        const left = Math.min(...[...range.getClientRects()].map((q) => q.left));
        if (left < d.getBoundingClientRect().left - slack) {
          bad(`a display formula starts ${(d.getBoundingClientRect().left - left).toFixed(0)} px left of its box, where scrolling cannot reach: ${describe(d)}`);
        }
      }
      if (d.scrollHeight > d.clientHeight + 1 && getComputedStyle(d).overflowY !== "visible") {
        bad(`a display formula is cut off vertically (${d.scrollHeight} px of ink in a ${d.clientHeight} px box): ${describe(d)}`);
      }
    }

    // Figures and their alt text.
    for (const img of main.querySelectorAll("img")) {
      const alt = (img.getAttribute("alt") || "").trim();
      const stem = (img.getAttribute("src") || "").split("/").pop().replace(/\.[a-z]+$/, "");
      const bare = alt.replace(/^figure:?\s*/i, "").replace(/\.[a-z]+$/, "");
      if (alt.split(/\s+/).length < 8 || bare === stem) {
        bad(`image ${img.getAttribute("src")} has alt text "${alt}": say what the figure shows (8 words or more, not its file name)`);
      }
      if (!img.complete || img.naturalWidth === 0) bad(`image ${img.getAttribute("src")} did not load`);
    }
  }

  // The dark theme: contrast of text and math with the page, and figures that
  // bring their own opaque background.
  if (wantContrast && main) {
    const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
      for (; el; el = el.parentElement) {
        const c = rgb(getComputedStyle(el).backgroundColor);
        if (c.length >= 3 && (c.length === 3 || c[3] > 0)) return c;
      }
      return rgb(getComputedStyle(document.documentElement).backgroundColor);
    };
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    const samples = [...main.querySelectorAll("p, li, td, th, h1, h2, h3, .katex-html, blockquote")]
      .filter((el) => el.textContent.trim());
    let worst = null;
    for (const el of samples) {
      const r = ratio(rgb(getComputedStyle(el).color), background(el));
      if (!worst || r < worst.r) worst = { r, el };
    }
    if (worst && worst.r < 4.5) bad(`contrast ${worst.r.toFixed(2)}:1 (< 4.5:1) in the dark theme: ${describe(worst.el)}`);
    out.worstContrast = worst ? worst.r : null;
    for (const img of main.querySelectorAll("img")) {
      if (!img.complete || img.naturalWidth === 0) continue;
      const canvas = document.createElement("canvas");
      canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(img, 0, 0);
      const corners = [[1, 1], [canvas.width - 2, 1], [1, canvas.height - 2], [canvas.width - 2, canvas.height - 2]];
      if (corners.some(([x, y]) => ctx.getImageData(x, y, 1, 1).data[3] < 255)) {
        bad(`figure ${img.getAttribute("src")} has a transparent background: unreadable on a dark theme`);
      }
    }
  }
  return out;
}

// For the PDF edition without the Tests appendix (`pdf.mjs --without-tests`), run
// inside the print page: removes the Tests chapter (from its <h1 id="tests"> to
// the page break before the next chapter, and the page break before it) and
// turns every link into it (`#tests`, `#test-<file>-<name>`) into plain text,
// which keeps the test's file and name. Returns the number of elements removed
// (0 when the page has no Tests chapter) and of links unlinked.
export function dropTestsAppendix() {
  const isBreak = (el) => el?.tagName === "DIV" && el.style.breakBefore === "page";
  const h1 = document.getElementById("tests");
  let removed = 0;
  if (h1 && h1.tagName === "H1") {
    const before = h1.previousElementSibling;
    let node = h1;
    while (node) {
      const next = node.nextElementSibling;
      if (node !== h1 && (node.tagName === "H1" || (isBreak(node) && next?.tagName === "H1"))) break;
      node.remove();
      removed += 1;
      node = next;
    }
    if (isBreak(before)) { before.remove(); removed += 1; }
  }
  let unlinked = 0;
  for (const a of document.querySelectorAll('main a[href="#tests"], main a[href^="#test-"]')) {
    const span = document.createElement("span");
    span.append(...a.childNodes);
    a.replaceWith(span);
    unlinked += 1;
  }
  return { removed, unlinked };
}
