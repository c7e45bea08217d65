"""The compiled libraries the analysis can run without, and what to tell the user when one is missing.

google-re2 is a dependency, but it is compiled: a platform or Python without a build of it (the VS Code
extension's universal package, a Python newer than its wheels) runs without it. Regexes then go
unchecked, which must be said once, not left silent.
"""

from __future__ import annotations

import platform
from functools import cache


@cache
def re2_import_error() -> str | None:
    """Why `import re2` fails here; None when it works."""
    try:
        import re2  # noqa: F401
    except ImportError as error:
        return str(error)
    return None


def re2_unavailable_note() -> str | None:
    """The warning for the user when google-re2 cannot be imported; None when it can."""
    error = re2_import_error()
    if error is None:
        return None
    where = f"Python {platform.python_version()} on {platform.system()} {platform.machine()}"
    return (
        f"google-re2 is not available for {where} ({error}): regexes are not checked against RE2, "
        "so invalid-regex is not reported. Install google-re2 for this Python, or in VS Code use the "
        "extension's package for your platform with a Python it bundles google-re2 for (see its README)."
    )
