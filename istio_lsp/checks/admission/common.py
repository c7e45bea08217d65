"""Value validators shared by the admission rules. Each returns a problem description, or None when valid.

They mirror the helpers of Istio's `pkg/config/validation` (durations, ports, host
names, labels, exportTo, headers, regexes) so that every rule group judges values the
same way. This module defines no rule itself.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

try:  # RE2 is what Istio compiles with; Python's `re` accepts and rejects different patterns
    import re2 as _re2
except ImportError:  # pragma: no cover - google-re2 has no wheel for this platform
    _re2 = None

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_TCHAR = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_PSEUDO_HEADERS = {":method", ":scheme", ":authority", ":path", ":status"}
_JWT_CLAIM = re.compile(r"^@request\.auth\.claims(\.[^.\[\]]+)+$|^@request\.auth\.claims(\[[^\[\]]+\])+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_ENVOY_COMMAND = re.compile(r"%[A-Z0-9_]+(\([^%]*\))?(:[0-9]+)?%")

MAX_REGEX_LENGTH = 1024
_MAX_DURATION_SECONDS = (2**63 - 1) / 1e9  # about 292 years


# ---- durations -----------------------------------------------------------------


def parse_duration(text: str) -> float | None:
    """Seconds in a Go/protobuf duration string (`1.5s`, `2m30s`, `100ms`), or None when malformed."""
    text = text.strip()
    if not text:
        return None
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if body == "0":
        return 0.0
    total = 0.0
    position = 0
    for match in _DURATION_PART.finditer(body):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(body) or position == 0:
        return None
    if not total <= _MAX_DURATION_SECONDS:  # Go's durations are int64 nanoseconds: longer ones do not parse
        return None
    return sign * total


def duration_problem(text: str) -> str | None:
    """Istio's ValidateDuration: a valid duration, at least 1ms, with millisecond precision."""
    seconds = parse_duration(text)
    if seconds is None:
        return f"`{text}` is not a duration (write e.g. `500ms`, `10s`, `1m30s`)"
    if seconds < 0.001:
        return f"duration `{text}` is shorter than the minimum of 1ms"
    if abs(seconds * 1000 - round(seconds * 1000)) > 1e-6:
        return f"duration `{text}` is finer than millisecond precision"
    return None


def format_duration(seconds: float) -> str:
    """A duration as people write it: `1.5s`, `250ms`, `2m`."""
    millis = round(seconds * 1000)
    if millis % 60_000 == 0 and millis >= 60_000:
        return f"{millis // 60_000}m"
    if millis % 1000 == 0:
        return f"{millis // 1000}s"
    if millis < 1000:
        return f"{millis}ms"
    return f"{millis / 1000:g}s"


# ---- numbers -------------------------------------------------------------------


def as_int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def as_float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text.strip())
    except ValueError:
        return None


def port_problem(text: str | None) -> str | None:
    number = as_int(text)
    if number is None or not 1 <= number <= 65535:
        return f"port `{text}` is not a number from 1 to 65535"
    return None


def percent_problem(text: str | None) -> str | None:
    """Integer percentages (maxEjectionPercent, minHealthPercent): 0 to 100."""
    number = as_int(text)
    if number is None or not 0 <= number <= 100:
        return f"`{text}` is not a percentage from 0 to 100"
    return None


def fraction_percent_problem(text: str | None) -> str | None:
    """Fault and mirror `percentage.value`: 0, or 0.0001 to 100."""
    number = as_float(text)
    if number is None or not (number == 0 or 0.0001 <= number <= 100):
        return f"percentage `{text}` must be 0 or between 0.0001 and 100"
    return None


# ---- names and hosts -----------------------------------------------------------


def dns1123_label_problem(name: str, what: str = "name") -> str | None:
    if len(name) > 63 or not DNS1123_LABEL.match(name):
        return (
            f"{what} `{name}` is not a DNS-1123 label (lowercase letters, digits and `-`, "
            f"starting and ending with a letter or digit, at most 63 characters)"
        )
    return None


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def is_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return "/" in text


def fqdn_problem(host: str) -> str | None:
    """Istio's ValidateFQDN: labels are DNS-1123 labels, the top-level label is not all digits."""
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > 255:
        return f"`{host}` is not a valid domain name (1 to 255 characters)"
    labels = name.split(".")
    for label in labels:
        if dns1123_label_problem(label.lower()) is not None:
            return f"`{host}` is not a valid domain name: `{label}` is not a DNS-1123 label"
    if len(labels) > 1 and labels[-1].isdigit():
        return f"`{host}` is not a valid domain name: the top-level domain is all digits"
    return None


def wildcard_domain_problem(host: str) -> str | None:
    """Istio's ValidateWildcardDomain: an FQDN whose first label may be `*` or `*suffix`; short names allowed."""
    if host == "*":
        return None
    if "*" in host:
        first, _, rest = host.partition(".")
        if not first.startswith("*") or "*" in first[1:] or "*" in rest:
            return f"`{host}`: partial wildcard not allowed; only a leading `*.` or `*` is"
        # the first label may be `*`, or `*` / `*-` followed by a label (`*x`, `*-foo`), as Istio's pattern allows
        suffix = first[2:] if first.startswith("*-") else first[1:]
        if suffix and dns1123_label_problem(suffix.lower()) is not None:
            return f"`{host}` is not a valid wildcard domain"
        return fqdn_problem(rest) if rest else None
    return fqdn_problem(host)


def partial_wildcard(host: str) -> bool:
    """A `*` other than the whole host or a leading `*.` label."""
    if host == "*" or "*" not in host:
        return False
    first, _, rest = host.partition(".")
    return first != "*" or "*" in rest


# ---- labels and selectors ------------------------------------------------------


def label_key_problem(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        return f"label key `{key}` is not a valid qualified name"
    if slash and (not prefix or len(prefix) > 253 or fqdn_problem(prefix.lower()) is not None):
        return f"label key `{key}` has an invalid prefix `{prefix}`"
    return None


def label_value_problem(value: str) -> str | None:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        return f"label value `{value}` is not valid (letters, digits, `-`, `_`, `.`, at most 63 characters)"
    return None


def labels_problems(labels: dict[str, str]) -> list[str]:
    problems: list[str] = []
    for key, value in labels.items():
        problem = label_key_problem(key) or label_value_problem(value)
        if problem:
            problems.append(problem)
    return problems


def selector_problems(labels: dict[str, str]) -> list[str]:
    """Workload selectors: no empty key, no `*` in a key or a value."""
    problems: list[str] = []
    for key, value in labels.items():
        if not key:
            problems.append("a selector label key is empty")
        elif "*" in key or "*" in value:
            problems.append(f"selector `{key}: {value}` uses `*`, which selectors do not support")
    return problems


# ---- exportTo ------------------------------------------------------------------


def export_to_problems(entries: list[str], namespace: str, allow_none: bool = False) -> list[str]:
    """Each entry is `.`, `*` or a namespace (and `~` for ServiceEntries); no duplicates; `*`/`~` alone."""
    problems: list[str] = []
    seen: set[str] = set()
    for entry in entries:
        normal = namespace if entry == "." else entry
        if entry == "~":
            if not allow_none:
                problems.append("`~` in exportTo is only allowed in ServiceEntries")
        elif entry not in (".", "*") and dns1123_label_problem(entry) is not None:
            problems.append(f"exportTo entry `{entry}` is not `.`, `*` or a namespace name")
        if normal in seen:
            problems.append(f"exportTo lists `{entry}` twice (`.` means the own namespace)")
        seen.add(normal)
    if len(entries) > 1 and "*" in entries:
        problems.append("exportTo `*` (everywhere) cannot be combined with other entries")
    if len(entries) > 1 and "~" in entries:
        problems.append("exportTo `~` (nowhere) cannot be combined with other entries")
    return problems


# ---- headers -------------------------------------------------------------------


def header_name_problem(name: str, allow_pseudo: bool = True, allow_jwt_claims: bool = True) -> str | None:
    if not name:
        return "a header name is empty"
    if allow_pseudo and name in _PSEUDO_HEADERS:
        return None
    if allow_jwt_claims and _JWT_CLAIM.match(name):
        return None
    if not _TCHAR.match(name):
        return f"header name `{name}` has characters HTTP does not allow in a header name"
    return None


def header_value_problem(value: str) -> str | None:
    """No control characters but TAB; `%` is escaped as `%%` or starts an Envoy command (`%VAR%`)."""
    if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value):
        return "header value holds control characters"
    stripped = _ENVOY_COMMAND.sub("", value.replace("%%", ""))
    if "%" in stripped:
        return f"header value `{value}` has a `%` that is neither `%%` nor an Envoy command like `%REQ(x)%`"
    return None


# ---- regexes -------------------------------------------------------------------


@lru_cache(maxsize=2048)  # manifests repeat their patterns: compile each once
def regex_problem(pattern: str) -> str | None:
    """Whether RE2 (what Istio and Envoy use) accepts the pattern; the message is RE2's reason."""
    if not pattern:
        return "regex is empty"
    if len(pattern) > MAX_REGEX_LENGTH:
        return f"regex is longer than {MAX_REGEX_LENGTH} characters"
    if _re2 is None:
        return None  # cannot judge without RE2; never guess with Python's `re`
    options = _re2.Options()
    options.log_errors = False  # RE2 would print each bad pattern to stderr
    try:
        _re2.compile(pattern, options)
    except Exception as exc:  # re2.error carries RE2's own message
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return f"regex `{pattern}` is not valid RE2: {reason}"
    return None


def re2_available() -> bool:
    return _re2 is not None
