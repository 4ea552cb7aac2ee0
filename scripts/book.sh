#!/usr/bin/env bash
# The book's tools and commands.
#
#   bash scripts/book.sh serve   install the pinned tools if missing, then serve the
#                                book on http://localhost:3000
#   bash scripts/book.sh build   install if missing, then build into target/book
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

case "${1:-}" in
    tools) tools ;;
    build) tools; mdbook build book -d "$PWD/target/book" ;;
    serve) tools; exec mdbook serve book -n 127.0.0.1 -p 3000 -d "$PWD/target/book-serve" ;;
    *) echo "usage: bash scripts/book.sh serve|build|tools" >&2; exit 2 ;;
esac
