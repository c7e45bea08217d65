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

LIBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libs")
sys.path.insert(0, LIBS)
# Compiled libraries: one folder holds the builds for every Python of bundled/libs/BUNDLED.txt's
# `pythons:` line (each file is named for its CPython version). google-re2 and PyYAML's libyaml are
# optional (the server says when RE2 is missing); any other is required: say so plainly.
OPTIONAL = ("google-re2", "pyyaml")


def _check_required():
    """Exit with a plain message when a required compiled library has no build here."""
    target, pythons, natives = "?", "none", []
    try:
        with open(os.path.join(LIBS, "BUNDLED.txt"), encoding="utf-8") as listing:
            for line in listing:
                key, _, value = line.partition(":")
                if key == "target":
                    target = value.strip()
                elif key == "pythons":
                    pythons = ", ".join(value.split())
                elif key == "native" or key.startswith("# needs "):
                    natives.append((value.split() or [""])[0] if key == "native" else key[len("# needs ") :])
    except OSError:
        return
    for native in natives:
        if native in OPTIONAL:
            continue
        try:
            __import__(native.replace("-", "_"))
        except ImportError as error:
            version = f"{sys.version_info[0]}.{sys.version_info[1]}"
            has = f"it runs the server on Python {pythons}" if pythons != "-" else "it holds no compiled library"
            sys.stderr.write(
                f"istio-lsp: this package of the extension ({target}) has no build of {native} for Python "
                f"{version} here ({error}); {has}. Install the extension's package for your platform and "
                "use one of its Pythons (istioLsp.interpreter), or install istio-lsp into your Python "
                "(pip install istio-lsp) and point istioLsp.interpreter at it.\n"
            )
            sys.exit(3)


_check_required()

from istio_lsp.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["serve"]))
