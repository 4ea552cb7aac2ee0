#!/usr/bin/env bash
# The book's tools and commands.
#
#   bash scripts/book.sh serve   install the pinned tools if missing, then serve the
#                                book on http://localhost:3000
#   bash scripts/book.sh build   install if missing, then build into target/book
#   bash scripts/book.sh pdf     build, then print the book to target/descent.pdf with
#                                headless Chromium and check the PDF (needs node,
#                                chromium and poppler-utils; see .ci/run)
#   bash scripts/book.sh pdf-lean  the same without the Tests appendix (every test's
#                                source, about 260 pages), to target/descent-lean.pdf;
#                                test names stay as text and the title page points to
#                                the web edition for their source
#   bash scripts/book.sh tools   only install the pinned tools if missing
#
# Pinned: mdBook 0.5.4 and mdbook-katex 0.10.0 (which bundles KaTeX 0.16.4, the
# version of the CSS and fonts under book/katex and book/src/katex).
set -euo pipefail
cd "$(dirname "$0")/.."

MDBOOK_VERSION=0.5.4
MDBOOK_KATEX_VERSION=0.10.0

tools() {
    local have_mdbook have_katex
    have_mdbook=$(mdbook --version 2>/dev/null || true)
    have_katex=$(mdbook-katex --version 2>/dev/null || true)
    if [ "$have_mdbook" != "mdbook v$MDBOOK_VERSION" ] || [ "$have_katex" != "mdbook-katex $MDBOOK_KATEX_VERSION" ]; then
        echo "installing mdbook $MDBOOK_VERSION and mdbook-katex $MDBOOK_KATEX_VERSION (about 4 minutes on 2 cores)" >&2
        cargo install --locked "mdbook@$MDBOOK_VERSION" "mdbook-katex@$MDBOOK_KATEX_VERSION" >&2
    fi
}

build() {
    tools
    mdbook build book -d "$PWD/target/book"
}

pdf() {
    local out="${1:-target/descent.pdf}" flags="${2:-}" tool
    for tool in node chromium pdfinfo pdffonts pdftotext; do
        command -v "$tool" >/dev/null 2>&1 || {
            echo "book.sh pdf needs $tool (Debian: nodejs, chromium, poppler-utils)" >&2
            exit 1
        }
    done
    build
    [ -d scripts/browser/node_modules/playwright-core ] ||
        npm ci --prefix scripts/browser --no-audit --no-fund --silent
    # Networking off where we may (root, or user namespaces): a new network
    # namespace has only a loopback device. The script also refuses any request
    # that leaves the book.
    if unshare --net true 2>/dev/null && command -v ip >/dev/null 2>&1; then
        unshare --net bash -c "ip link set lo up && node scripts/browser/pdf.mjs target/book $out $flags"
    else
        # shellcheck disable=SC2086 # flags is empty or one word
        node scripts/browser/pdf.mjs target/book "$out" $flags
    fi
}

case "${1:-}" in
    tools) tools ;;
    build) build ;;
    pdf) pdf ;;
    pdf-lean) pdf target/descent-lean.pdf --without-tests ;;
    serve) tools; exec mdbook serve book -n 127.0.0.1 -p 3000 -d "$PWD/target/book-serve" ;;
    *) echo "usage: bash scripts/book.sh serve|build|pdf|pdf-lean|tools" >&2; exit 2 ;;
esac
