"""The `proxy.istio.io/config` annotation: a ProxyConfig (Istio's mesh config for one proxy) as YAML.

The injector decodes it over the mesh's default ProxyConfig (fields it does not know are
ignored) and validates the result; a value that does not decode or does not validate makes
it refuse the pod. What is checked here, field by field:

- the text is YAML, and a mapping (or empty);
- the fields Istio knows have values of their type: strings, integers, booleans, durations
  (Go's form: `30s`, `1m30s`), enum names, string maps (`proxyMetadata` values are strings:
  an unquoted `true` is not), lists of strings, nested messages;
- `discoveryAddress` (and the statsd, metrics and access-log service addresses) are
  `host:port`, with a port from 1 to 65535 and a host that is a domain name or an IP;
- `configPath`, `binaryPath`, `discoveryAddress` and `serviceCluster`, when written, are not
  empty; `proxyAdminPort` and `statusPort` are ports from 1 to 65535;
- `drainDuration` is at least 1ms and whole seconds; `controlPlaneAuthPolicy` is NONE or
  MUTUAL_TLS.

The tracing, private-key-provider and connection settings are not checked in depth.
This module defines no rule.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from istio_lsp.checks.admission.common import duration_problem, fqdn_problem, is_ip, parse_duration

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

# field → its type, by its JSON name (the decoder also takes the proto name: `discovery_address`)
_STRING, _INT32, _UINT32, _DURATION, _BOOL = "string", "int32", "uint32", "duration", "bool"
_MAP, _LIST, _MESSAGE = "map", "list", "message"
FIELDS: dict[str, str | tuple[str, ...]] = {
    "configPath": _STRING,
    "binaryPath": _STRING,
    "serviceCluster": _STRING,
    "tracingServiceName": ("APP_LABEL_AND_NAMESPACE", "CANONICAL_NAME_ONLY", "CANONICAL_NAME_AND_NAMESPACE"),
    "drainDuration": _DURATION,
    "discoveryAddress": _STRING,
    "discoveryRefreshDelay": _DURATION,
    "zipkinAddress": _STRING,
    "statsdUdpAddress": _STRING,
    "envoyMetricsServiceAddress": _STRING,
    "proxyAdminPort": _INT32,
    "availabilityZone": _STRING,
    "controlPlaneAuthPolicy": ("NONE", "MUTUAL_TLS", "INHERIT"),
    "customConfigFile": _STRING,
    "statNameLength": _INT32,
    "concurrency": _INT32,
    "proxyBootstrapTemplatePath": _STRING,
    "interceptionMode": ("REDIRECT", "TPROXY", "NONE"),
    "tracing": _MESSAGE,
    "sds": _MESSAGE,
    "envoyAccessLogService": _MESSAGE,
    "envoyMetricsService": _MESSAGE,
    "proxyMetadata": _MAP,
    "runtimeValues": _MAP,
    "statusPort": _INT32,
    "extraStatTags": _LIST,
    "gatewayTopology": _MESSAGE,
    "terminationDrainDuration": _DURATION,
    "meshId": _STRING,
    "readinessProbe": _MESSAGE,
    "proxyStatsMatcher": _MESSAGE,
    "holdApplicationUntilProxyStarts": _BOOL,
    "caCertificatesPem": _LIST,
    "image": _MESSAGE,
    "privateKeyProvider": _MESSAGE,
    "proxyHeaders": _MESSAGE,
    "fileFlushInterval": _DURATION,
    "fileFlushMinSizeKb": _UINT32,
    "statsCompression": _BOOL,
    "connectionSettings": _MESSAGE,
}
_BY_PROTO_NAME = {re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower(): name for name in FIELDS}
_ADDRESSES = ("discoveryAddress", "statsdUdpAddress", "envoyMetricsServiceAddress")
_NOT_EMPTY = ("configPath", "binaryPath", "discoveryAddress", "serviceCluster")
_PORTS = ("proxyAdminPort", "statusPort")
_INT_TEXT = re.compile(r"-?[0-9]+")
_LIMITS = {_INT32: (-(2**31), 2**31 - 1), _UINT32: (0, 2**32 - 1)}


def proxy_config_problem(value: str) -> str | None:
    """What makes the injector refuse a `proxy.istio.io/config` value, or None."""
    try:
        config = yaml.load(value, Loader=_Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem", None) or "it does not parse"
        return f"is not valid YAML ({mark})"
    if config is None:
        return None
    if not isinstance(config, dict):
        return "is not a mapping of ProxyConfig fields (for example `{holdApplicationUntilProxyStarts: true}`)"
    fields: dict[str, Any] = {}
    for key, field_value in config.items():
        name = _BY_PROTO_NAME.get(str(key), str(key))
        if name in FIELDS:
            fields[name] = field_value
    for name, field_value in fields.items():
        problem = _type_problem(name, field_value)
        if problem is not None:
            return f"is not a valid ProxyConfig: {problem}"
    problem = _semantic_problem(fields)
    return f"is not a valid ProxyConfig: {problem}" if problem is not None else None


def _type_problem(name: str, value: Any) -> str | None:
    kind = FIELDS[name]
    if value is None:
        return None  # null leaves the default
    if isinstance(kind, tuple):
        if isinstance(value, str) and value in kind:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return None  # an enum's number
        return f"`{name}` must be one of {', '.join(kind)}, not {_shown(value)}"
    if kind == _STRING and not isinstance(value, str):
        return f"`{name}` must be a string, not {_shown(value)}"
    if kind in _LIMITS and not _is_integer(value, kind):
        return f"`{name}` must be a whole number, not {_shown(value)}"
    if kind == _DURATION and not (isinstance(value, str) and parse_duration(value) is not None):
        return f"`{name}` must be a duration such as `30s` or `1m30s`, not {_shown(value)}"
    if kind == _BOOL and not isinstance(value, bool):
        return f"`{name}` must be `true` or `false`, not {_shown(value)}"
    if kind == _MAP:
        if not isinstance(value, dict):
            return f"`{name}` must be a mapping of names to strings"
        for key, item in value.items():
            if item is not None and not isinstance(item, str):
                return f'`{name}.{key}` must be a string: quote it (`"{_yaml_text(item)}"`)'
    if kind == _LIST and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return f"`{name}` must be a list of strings"
    if kind == _MESSAGE and not isinstance(value, dict):
        return f"`{name}` must be a mapping of its fields"
    return None


def _is_integer(value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _INT_TEXT.fullmatch(value):
        value = int(value)  # the JSON decoder takes a quoted integer too
    if not isinstance(value, int):
        return False
    low, high = _LIMITS[kind]
    return low <= value <= high


def _shown(value: Any) -> str:
    """A value as it reads in a message: a string in quotes (`"true"` is not `true`)."""
    if isinstance(value, str):
        return f"`{json.dumps(value)}`" if len(value) <= 40 else "a string"
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return f"`{_yaml_text(value)}`"


def _yaml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _semantic_problem(fields: dict[str, Any]) -> str | None:
    for name in _NOT_EMPTY:
        if fields.get(name) == "":
            return f"`{name}` must not be empty"
    for name in _ADDRESSES:
        address = fields.get(name)
        if isinstance(address, str) and address:
            problem = address_problem(address)
            if problem is not None:
                return f"`{name}`: {problem}"
    for service in ("envoyMetricsService", "envoyAccessLogService"):
        address = (fields.get(service) or {}).get("address") if isinstance(fields.get(service), dict) else None
        if isinstance(address, str) and address:
            problem = address_problem(address)
            if problem is not None:
                return f"`{service}.address`: {problem}"
    for name in _PORTS:
        port = fields.get(name)
        if port is not None and not 1 <= int(port) <= 65535:
            return f"`{name}` must be a port from 1 to 65535, not {port}"
    drain = fields.get("drainDuration")
    if isinstance(drain, str):
        problem = duration_problem(drain)
        seconds = parse_duration(drain)
        if problem is None and seconds is not None and abs(seconds - round(seconds)) > 1e-9:
            problem = f"`{drain}` is not a whole number of seconds"
        if problem is not None:
            return f"`drainDuration`: {problem}"
    policy = fields.get("controlPlaneAuthPolicy")
    if policy is not None and policy not in ("NONE", "MUTUAL_TLS", 0, 1):
        return f"`controlPlaneAuthPolicy` must be NONE or MUTUAL_TLS, not `{policy}`"
    return None


def address_problem(address: str) -> str | None:
    """Istio's ValidateProxyAddress: `host:port` (`[ipv6]:port`), a port from 1 to 65535, a domain name or IP."""
    if address.startswith("["):
        host, close, rest = address[1:].partition("]")
        if not close or not rest.startswith(":"):
            return f"`{address}` is not `host:port`"
        port = rest[1:]
    else:
        host, colon, port = address.rpartition(":")
        if not colon or ":" in host:
            return f"`{address}` is not `host:port`"
    if not _INT_TEXT.fullmatch(port) or not 1 <= int(port) <= 65535:
        return f"the port of `{address}` is not a number from 1 to 65535"
    if fqdn_problem(host) is not None and not is_ip(host):
        return f"`{host}` is not a valid host name or IP address"
    return None
