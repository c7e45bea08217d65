"""Run the istio-lsp server (or CLI) from the libraries bundled next to this file.

The VS Code extension starts it as `python -I launch.py serve`. bundled/libs goes first on
sys.path, so the shipped versions win over anything installed in that Python.
"""

import os
import sys

# Kept although ruff calls it dead: old interpreters must get this message, not a SyntaxError.
if sys.version_info < (3, 10):  # noqa: UP036
    sys.stderr.write(
        "istio-lsp needs Python 3.10 or newer; %s is %d.%d. Set istioLsp.interpreter to a newer Python.\n"  # noqa: UP031
        % (sys.executable, sys.version_info[0], sys.version_info[1])
    )
    sys.exit(2)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "libs"))

from istio_lsp.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["serve"]))
