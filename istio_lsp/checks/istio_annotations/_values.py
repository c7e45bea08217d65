"""The values Istio's sidecar injector accepts for the pod annotations it validates.

The injector checks these annotations before it injects a pod, and refuses the pod when
one does not parse (istio/istio `pkg/kube/inject/validate.go`); `istioctl analyze` runs the
same checks. Each validator here returns a `Problem` (what is wrong, and a corrected value when
one is plain), or None when the value is accepted. They follow Go's parsers, which the injector
uses: `strconv.ParseUint`, `strconv.ParseBool`, `netip.ParsePrefix`, Kubernetes' quantities.
This module defines no rule.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

from istio_lsp.checks.istio_annotations._proxy_config import proxy_config_problem


@dataclass(frozen=True)
class Problem:
    text: str  # what is wrong, to follow "the value ... "
    fixed: str | None = None  # the value as it was likely meant, when that is plain


Validator = Callable[[str], "Problem | None"]

_DIGITS = re.compile(r"[0-9]+")
_BITS = re.compile(r"0|[1-9][0-9]*")
_INTERFACE = re.compile(r"[a-zA-Z][a-zA-Z0-9_.\-]*")
# Kubernetes' quantity: a signed decimal number, then a binary (Ki…Ei) or decimal (n…E) suffix or an exponent
_QUANTITY = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?")
GO_BOOLS = frozenset({"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"})
_YAML_BOOLS = {"yes": "true", "y": "true", "on": "true", "no": "false", "n": "false", "off": "false"}
INTERCEPTION_MODES = ("REDIRECT", "TPROXY", "NONE")
MAX_UINT32 = 4_294_967_295


def interception_mode(value: str) -> Problem | None:
    if value in INTERCEPTION_MODES:
        return None
    fixed = value.strip().upper()
    return Problem(
        "is not an interception mode (REDIRECT, TPROXY or NONE; the case matters)",
        fixed if fixed in INTERCEPTION_MODES else None,
    )


def uint32(value: str) -> Problem | None:
    """`strconv.ParseUint(value, 10, 32)`: digits only, no sign, no spaces."""
    if _DIGITS.fullmatch(value) and int(value) <= MAX_UINT32:
        return None
    stripped = value.strip()
    fixed = stripped if _DIGITS.fullmatch(stripped) and int(stripped) <= MAX_UINT32 else None
    return Problem(f"is not a whole number from 0 to {MAX_UINT32}", fixed)


def boolean(value: str) -> Problem | None:
    """`strconv.ParseBool`."""
    if value in GO_BOOLS:
        return None
    return Problem("is not a boolean (`true` or `false`)", _YAML_BOOLS.get(value.strip().lower()))


def _port(text: str) -> bool:
    """`parsePort`: trimmed, then `strconv.ParseUint(…, 10, 16)` (0 to 65535)."""
    text = text.strip()
    return bool(_DIGITS.fullmatch(text)) and int(text) <= 65535


def status_port(value: str) -> Problem | None:
    return None if _port(value) else Problem("is not a port number (0 to 65535)")


def port_list(value: str, *, star: bool = False) -> Problem | None:
    """A comma-separated list of ports; empty is accepted, and `*` where `star`."""
    if star and value == "*":
        return None
    stripped = value.strip()
    if not stripped:
        return None
    bad = [part.strip() for part in stripped.split(",") if not _port(part)]
    if not bad:
        return None
    parts = [part.strip() for part in stripped.split(",") if part.strip()]
    fixed = ",".join(parts) if parts and all(_port(p) for p in parts) else None
    what = f"`{bad[0]}` is not a port from 0 to 65535" if bad[0] else "an item is empty"
    return Problem(f"is not a comma-separated list of port numbers ({what})", fixed)


def _prefix_problem(text: str) -> str | None:
    """`netip.ParsePrefix`: an IP address, `/`, a prefix length without leading zeros; no zone."""
    address, slash, bits = text.rpartition("/")
    if not slash:
        return f"`{text}` has no `/` prefix length"
    if "%" in address:
        return f"`{text}` has an IPv6 zone, which a prefix cannot have"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return f"`{address}` is not an IP address"
    if not _BITS.fullmatch(bits) or int(bits) > parsed.max_prefixlen:
        return f"`{bits}` is not a prefix length from 0 to {parsed.max_prefixlen}"
    return None


def cidr_list(value: str, *, star: bool = False) -> Problem | None:
    """A comma-separated list of CIDR prefixes (no spaces); empty is accepted, and `*` where `star`."""
    if not value or (star and value == "*"):
        return None
    problems = [p for p in (_prefix_problem(part) for part in value.split(",")) if p is not None]
    if not problems:
        return None
    return Problem(f"is not a comma-separated list of CIDR ranges: {problems[0]}", _fixed_cidrs(value))


def _fixed_cidrs(value: str) -> str | None:
    """Spaces and empty items dropped, a bare address given its host prefix (`/32`, `/128`)."""
    parts = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        if "/" not in part:
            try:
                part = f"{part}/{ipaddress.ip_address(part).max_prefixlen}"
            except ValueError:
                return None
        if _prefix_problem(part) is not None:
            return None
        parts.append(part)
    return ",".join(parts) if parts else None


def interface_list(value: str) -> Problem | None:
    """`ValidateInterfaceNames`: comma-separated names of at most 15 characters; empty is accepted."""
    if not value:
        return None
    for name in (part.strip() for part in value.split(",")):
        if not name:
            return Problem("has an empty interface name in its list")
        if len(name) > 15:
            return Problem(f"has an interface name `{name}` longer than 15 characters")
        if not _INTERFACE.fullmatch(name):
            return Problem(f"has an interface name `{name}` with characters a network interface cannot have")
    return None


def quantity(value: str) -> Problem | None:
    """Kubernetes' `resource.ParseQuantity` (`500m`, `1.5`, `128Mi`, `1e3`)."""
    if _QUANTITY.fullmatch(value):
        return None
    fixed = value.replace(" ", "")
    if fixed.endswith(("B", "b")) and _QUANTITY.fullmatch(fixed[:-1]):
        fixed = fixed[:-1]  # 512MiB → 512Mi, 1GB → 1G
    return Problem(
        "is not a Kubernetes quantity (for example `500m`, `2`, `128Mi`, `1G`)",
        fixed if _QUANTITY.fullmatch(fixed) else None,
    )


def proxy_config(value: str) -> Problem | None:
    problem = proxy_config_problem(value)
    return Problem(problem) if problem is not None else None


VALIDATORS: dict[str, Validator] = {
    "sidecar.istio.io/interceptionMode": interception_mode,
    "status.sidecar.istio.io/port": status_port,
    "readiness.status.sidecar.istio.io/initialDelaySeconds": uint32,
    "readiness.status.sidecar.istio.io/periodSeconds": uint32,
    "readiness.status.sidecar.istio.io/failureThreshold": uint32,
    "traffic.sidecar.istio.io/includeOutboundIPRanges": lambda v: cidr_list(v, star=True),
    "traffic.sidecar.istio.io/excludeOutboundIPRanges": cidr_list,
    "traffic.sidecar.istio.io/includeInboundPorts": lambda v: port_list(v, star=True),
    "traffic.sidecar.istio.io/excludeInboundPorts": port_list,
    "traffic.sidecar.istio.io/excludeOutboundPorts": port_list,
    "traffic.sidecar.istio.io/excludeInterfaces": interface_list,
    "traffic.sidecar.istio.io/kubevirtInterfaces": interface_list,
    "istio.io/reroute-virtual-interfaces": interface_list,
    "prometheus.istio.io/merge-metrics": boolean,
    "proxy.istio.io/config": proxy_config,
    "sidecar.istio.io/proxyCPU": quantity,
    "sidecar.istio.io/proxyMemory": quantity,
    "sidecar.istio.io/proxyCPULimit": quantity,
    "sidecar.istio.io/proxyMemoryLimit": quantity,
}
