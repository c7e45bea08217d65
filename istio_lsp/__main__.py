"""`python -m istio_lsp` runs the language server over stdio, like `istio-lsp serve`."""

import sys

from istio_lsp.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["serve"]))
