"""A small evaluator for the CEL validation rules (`x-kubernetes-validations`) of the shipped CRD schemas.

The Kubernetes API server evaluates these rules (CEL, with Kubernetes' extension libraries) on every
create and update. The rules come only from the schemas shipped in `istio_lsp/schemas/` (never from the
workspace), so this module implements the part of CEL they use, compiled once per rule into Python
closures:

- literals (int, uint, double, string with raw and triple-quoted forms, bool, null, lists, maps);
- `self`, field selection (with Kubernetes' escaping of names: `__namespace__` is `namespace`),
  indexing, `has()`, the operators `! - * / % + < <= > >= == != in && || ?:`;
- the macros `all`, `exists`, `exists_one`, `filter`, `map`;
- `size`, `contains`, `startsWith`, `endsWith`, `matches` (RE2), `split`, `substring`,
  `lowerAscii`, `upperAscii`, `trim`, `int`, `string`, `duration`, `isIP`, `isURL`/`url().getScheme()`,
  `format.dns1123Label().validate()`.

Errors follow CEL: a missing field, a type mismatch or an unsupported construct is an error, `&&`,
`||` and the macros absorb an error when the other side decides, and a rule whose result is an
error decides nothing (the caller reports nothing: precision first). A value the workspace cannot
know (a placeholder) is `UNKNOWN`: every use of it is an error, so a rule fires on it only when its
result does not depend on it. Rules that need the previous object (`oldSelf`, transition rules) do
not apply to a manifest and are not compiled.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

try:
    import re2 as _re2
except ImportError:  # pragma: no cover - google-re2 is a dependency
    _re2 = None


class CelError(Exception):
    """An evaluation error: the rule decides nothing."""


class Unsupported(Exception):
    """A rule this evaluator cannot compile (it is then skipped)."""


class _Unknown:
    """A value the workspace does not know (a placeholder): any use of it is an error."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __eq__(self, other: object) -> bool:
        raise CelError("unknown value")

    def __ne__(self, other: object) -> bool:
        raise CelError("unknown value")

    def __hash__(self) -> int:
        return 0

    def __len__(self) -> int:
        raise CelError("unknown value")


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True, order=True)
class Duration:
    nanos: int


Env = dict[str, Any]
Expr = Callable[[Env], Any]

# ---- lexer ------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>[rR]?(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'))
  | (?P<number>0[xX][0-9a-fA-F]+[uU]?|\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\.\d+(?:[eE][-+]?\d+)?|\d+[uU]?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%!<>?:.,()\[\]{}])
)""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "`": "`", "?": "?", "a": "\a", "b": "\b"}
_ESCAPES.update({"f": "\f", "v": "\v"})


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise Unsupported(f"cannot read {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    out.append(("end", ""))
    return out


def _string(token: str) -> str:
    raw = token[0] in "rR"
    body = token[1:] if raw else token
    quote = 3 if body[:3] in ('"""', "'''") else 1
    body = body[quote:-quote]
    if raw:
        return body
    out, i = [], 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
            i += 2 + width
        elif nxt.isdigit():
            out.append(chr(int(body[i + 1 : i + 4], 8)))
            i += 4
        else:
            raise Unsupported(f"escape \\{nxt}")
    return "".join(out)


# ---- parser: text → closure -------------------------------------------------------------------------

_MACROS = frozenset({"all", "exists", "exists_one", "filter", "map"})


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos]

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.pos]
        if value is not None and token[1] != value:
            raise Unsupported(f"expected {value!r}, found {token[1]!r}")
        self.pos += 1
        return token

    def accept(self, value: str) -> bool:
        if self.tokens[self.pos][1] == value and self.tokens[self.pos][0] == "op":
            self.pos += 1
            return True
        return False

    def parse(self) -> Expr:
        expr = self.ternary()
        if self.peek()[0] != "end":
            raise Unsupported(f"unexpected {self.peek()[1]!r}")
        return expr

    def ternary(self) -> Expr:
        cond = self.or_()
        if not self.accept("?"):
            return cond
        yes = self.or_()
        self.take(":")
        no = self.ternary()
        return _ternary(cond, yes, no)

    def or_(self) -> Expr:
        left = self.and_()
        while self.accept("||"):
            left = _logic(left, self.and_(), True)
        return left

    def and_(self) -> Expr:
        left = self.relation()
        while self.accept("&&"):
            left = _logic(left, self.relation(), False)
        return left

    def relation(self) -> Expr:
        left = self.additive()
        while True:
            kind, value = self.peek()
            if (kind == "op" and value in ("==", "!=", "<", "<=", ">", ">=")) or (kind == "ident" and value == "in"):
                self.take()
                left = _binary(value, left, self.additive())
            else:
                return left

    def additive(self) -> Expr:
        left = self.multiplicative()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            left = _binary(op, left, self.multiplicative())
        return left

    def multiplicative(self) -> Expr:
        left = self.unary()
        while self.peek() in (("op", "*"), ("op", "/"), ("op", "%")):
            op = self.take()[1]
            left = _binary(op, left, self.unary())
        return left

    def unary(self) -> Expr:
        if self.accept("!"):
            inner = self.unary()
            return lambda env: not _bool(inner(env))
        if self.accept("-"):
            inner = self.unary()
            return lambda env: _negate(inner(env))
        return self.member()

    def member(self) -> Expr:
        expr = self.primary()
        while True:
            if self.accept("."):
                name = self.take()[1]
                expr = self.method(expr, name) if self.accept("(") else _select(expr, _field_name(name))
            elif self.accept("["):
                index = self.ternary()
                self.take("]")
                expr = _index(expr, index)
            else:
                return expr

    def arguments(self) -> list[Expr]:
        args: list[Expr] = []
        if self.accept(")"):
            return args
        while True:
            args.append(self.ternary())
            if self.accept(")"):
                return args
            self.take(",")

    def method(self, target: Expr, name: str) -> Expr:
        if name in _MACROS:
            variable = self.take()[1]
            self.take(",")
            body = self.ternary()
            self.take(")")
            return _macro(name, target, variable, body)
        args = self.arguments()
        function = _METHODS.get(name)
        if function is None:
            raise Unsupported(f"method {name}")
        return _call(function, [target, *args])

    def primary(self) -> Expr:
        kind, value = self.take()
        if kind == "number":
            number = _number(value)
            return lambda env: number
        if kind == "string":
            text = _string(value)
            return lambda env: text
        if kind == "ident":
            if value in ("true", "false", "null"):
                constant = {"true": True, "false": False, "null": None}[value]
                return lambda env: constant
            if self.accept("("):
                return self.function(value)
            if value == "oldSelf":
                raise Unsupported("transition rule")
            if value == "format":
                return lambda env: _FORMAT
            return lambda env: _variable(env, value)
        if value == "(":
            inner = self.ternary()
            self.take(")")
            return inner
        if value == "[":
            elements: list[Expr] = []
            while not self.accept("]"):
                elements.append(self.ternary())
                if not self.accept(","):
                    self.take("]")
                    break
            return lambda env: [e(env) for e in elements]
        if value == "{":
            entries: list[tuple[Expr, Expr]] = []
            while not self.accept("}"):
                key = self.ternary()
                self.take(":")
                entries.append((key, self.ternary()))
                if not self.accept(","):
                    self.take("}")
                    break
            return lambda env: {k(env): v(env) for k, v in entries}
        raise Unsupported(f"unexpected {value!r}")

    def function(self, name: str) -> Expr:
        if name == "has":
            inner = self.ternary()
            self.take(")")
            if getattr(inner, "select", None) is None:
                raise Unsupported("has() of something that is not a field")
            target, field = inner.select  # type: ignore[attr-defined]
            return lambda env: _has(target(env), field)
        args = self.arguments()
        function = _FUNCTIONS.get(name)
        if function is None:
            raise Unsupported(f"function {name}")
        return _call(function, args)


def _number(text: str) -> int | float:
    if text[-1] in "uU":
        return int(text[:-1], 0)
    if text[:2].lower() == "0x":
        return int(text, 16)
    if any(c in text for c in ".eE"):
        return float(text)
    return int(text)


_RESERVED = frozenset(
    {"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if"}
    | {"import", "let", "loop", "package", "namespace", "return", "var", "void", "while"}
)


def _field_name(name: str) -> str:
    """Kubernetes' escaping of property names in CEL: `__namespace__` → `namespace`, `__dash__` → `-`, …"""
    if name.startswith("__") and name.endswith("__") and name[2:-2] in _RESERVED:
        return name[2:-2]
    if "__" not in name:
        return name
    return (
        name.replace("__underscores__", "_").replace("__dash__", "-").replace("__dot__", ".").replace("__slash__", "/")
    )


def _variable(env: Env, name: str) -> Any:
    if name in env:
        return env[name]
    raise CelError(f"undeclared reference to {name}")


def _bool(value: Any) -> bool:
    if value is True or value is False:
        return value
    raise CelError("no matching overload: not a bool")


def _negate(value: Any) -> Any:
    if type(value) in (int, float):
        return -value
    if isinstance(value, Duration):
        return Duration(-value.nanos)
    raise CelError("no matching overload for -")


def _ternary(cond: Expr, yes: Expr, no: Expr) -> Expr:
    return lambda env: yes(env) if _bool(cond(env)) else no(env)


def _logic(left: Expr, right: Expr, is_or: bool) -> Expr:
    """`||` (is_or) or `&&`, commutative over errors as in CEL."""

    def run(env: Env) -> bool:
        error: CelError | None = None
        try:
            if _bool(left(env)) is is_or:
                return is_or
        except CelError as exc:
            error = exc
        if _bool(right(env)) is is_or:
            return is_or
        if error is not None:
            raise error
        return not is_or

    return run


def _equal(a: Any, b: Any) -> bool:
    if a is UNKNOWN or b is UNKNOWN:
        raise CelError("unknown value")
    if (type(a) is bool) != (type(b) is bool):
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _compare(op: str, a: Any, b: Any) -> bool:
    numbers = (int, float)
    if not (
        (type(a) in numbers and type(b) in numbers)
        or (type(a) is type(b) and isinstance(a, (str, Duration, bool, bytes)))
    ):
        raise CelError(f"no matching overload for {op}")
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, list):
        error = None
        for element in container:
            try:
                if _equal(element, item):
                    return True
            except CelError as exc:
                error = exc
        if error is not None:
            raise error
        return False
    if isinstance(container, dict):
        if item is UNKNOWN:
            raise CelError("unknown value")
        return item in container
    raise CelError("no matching overload for in")


def _arith(op: str, a: Any, b: Any) -> Any:
    if op == "+":
        if (type(a), type(b)) in ((int, int), (float, float), (str, str)) or (
            isinstance(a, list) and isinstance(b, list)
        ):
            return a + b
        if isinstance(a, Duration) and isinstance(b, Duration):
            return Duration(a.nanos + b.nanos)
    elif op == "-":
        if (type(a), type(b)) in ((int, int), (float, float)):
            return a - b
        if isinstance(a, Duration) and isinstance(b, Duration):
            return Duration(a.nanos - b.nanos)
    elif op == "*" and (type(a), type(b)) in ((int, int), (float, float)):
        return a * b
    elif op in ("/", "%") and type(a) is int and type(b) is int:
        if b == 0:
            raise CelError("division by zero")
        quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)  # Go truncates toward zero
        return quotient if op == "/" else a - b * quotient
    elif op == "/" and type(a) is float and type(b) is float:
        return a / b if b else float("inf")
    raise CelError(f"no matching overload for {op}")


def _binary(op: str, left: Expr, right: Expr) -> Expr:
    if op == "==":
        return lambda env: _equal(left(env), right(env))
    if op == "!=":
        return lambda env: not _equal(left(env), right(env))
    if op in ("<", "<=", ">", ">="):
        return lambda env: _compare(op, left(env), right(env))
    if op == "in":
        return lambda env: _contains(right(env), left(env))
    return lambda env: _arith(op, left(env), right(env))


def _select(target: Expr, field: str) -> Expr:
    def run(env: Env) -> Any:
        value = target(env)
        if isinstance(value, dict):
            if field in value:
                return value[field]
            raise CelError(f"no such key: {field}")
        raise CelError(f"no such field {field}")

    run.select = (target, field)  # type: ignore[attr-defined]
    return run


def _has(value: Any, field: str) -> bool:
    if isinstance(value, dict):
        return field in value
    raise CelError("has() on a value that is not an object")


def _index(target: Expr, index: Expr) -> Expr:
    def run(env: Env) -> Any:
        value, key = target(env), index(env)
        if isinstance(value, list):
            if type(key) is not int or not 0 <= key < len(value):
                raise CelError("index out of range")
            return value[key]
        if isinstance(value, dict):
            if key is UNKNOWN or key not in value:
                raise CelError("no such key")
            return value[key]
        raise CelError("no matching overload for []")

    return run


def _macro(name: str, target: Expr, variable: str, body: Expr) -> Expr:
    def run(env: Env) -> Any:
        value = target(env)
        if isinstance(value, (list, dict)):
            elements = list(value)
        else:
            raise CelError(f"no matching overload for {name}")
        scope = dict(env)
        results: list[Any] = []
        error: CelError | None = None
        for element in elements:
            scope[variable] = element
            try:
                results.append(body(scope) if name == "map" else _bool(body(scope)))
            except CelError as exc:
                if name in ("map", "filter", "exists_one"):
                    raise
                error = exc
                continue
            if name == "all" and results[-1] is False:
                return False
            if name == "exists" and results[-1] is True:
                return True
        if error is not None:
            raise error
        if name == "all":
            return True
        if name == "exists":
            return False
        if name == "exists_one":
            return sum(1 for r in results if r is True) == 1
        if name == "filter":
            return [e for e, keep in zip(elements, results, strict=True) if keep]
        return results

    return run


def _call(function: Callable[..., Any], args: list[Expr]) -> Expr:
    if len(args) == 1:
        only = args[0]
        return lambda env: function(only(env))
    return lambda env: function(*(a(env) for a in args))


# ---- functions ---------------------------------------------------------------------------------------


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise CelError("no matching overload: not a string")


def _size(value: Any) -> int:
    if isinstance(value, (str, list, dict, bytes)):
        return len(value)
    raise CelError("no matching overload for size")


@lru_cache(maxsize=256)
def _regex(pattern: str) -> Any:
    if _re2 is None:  # pragma: no cover - google-re2 is a dependency
        raise CelError("RE2 is not available")
    options = _re2.Options()
    options.log_errors = False
    try:
        return _re2.compile(pattern, options)
    except Exception as exc:
        raise CelError(f"invalid regex: {exc}") from None


def _matches(value: Any, pattern: Any) -> bool:
    return _regex(_str(pattern)).search(_str(value)) is not None


def _substring(value: Any, start: Any, end: Any = None) -> str:
    text = _str(value)
    stop = len(text) if end is None else end
    if type(start) is not int or type(stop) is not int or not 0 <= start <= stop <= len(text):
        raise CelError("substring out of range")
    return text[start:stop]


def _split(value: Any, separator: Any, limit: Any = -1) -> list[str]:
    text, sep = _str(value), _str(separator)
    if type(limit) is not int:
        raise CelError("no matching overload for split")
    if limit == 0:
        return []
    if sep == "":
        parts = list(text)
        return parts if limit < 0 or limit >= len(parts) else [*parts[: limit - 1], "".join(parts[limit - 1 :])]
    return text.split(sep) if limit < 0 else text.split(sep, limit - 1)


def _to_int(value: Any) -> int:
    if type(value) is int:
        return value
    if type(value) is float:
        return int(value)
    if isinstance(value, str):
        try:
            return int(value, 10)
        except ValueError:
            raise CelError(f"cannot convert {value!r} to int") from None
    if isinstance(value, Duration):
        return value.nanos // 1_000_000_000
    raise CelError("no matching overload for int")


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) in (int, float):
        return str(value)
    raise CelError("no matching overload for string")


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_NANOS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9}
_UNIT_NANOS["h"] = 3600 * 10**9


def parse_duration(text: str) -> Duration:
    """Go's time.ParseDuration (`1h30m`, `500ms`, `-1.5s`, `0`)."""
    body = text
    sign = -1 if body[:1] == "-" else 1
    if body[:1] in "+-" and body:
        body = body[1:]
    if body == "0":
        return Duration(0)
    if not body:
        raise CelError(f"invalid duration {text!r}")
    total, pos = 0.0, 0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if match is None:
            raise CelError(f"invalid duration {text!r}")
        total += float(match.group(1)) * _UNIT_NANOS[match.group(2)]
        pos = match.end()
    return Duration(sign * int(total))


def _duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    return parse_duration(_str(value))


def _is_ip(value: Any) -> bool:
    """Kubernetes' isIP(): Go's netip.ParseAddr without zones (no leading zeros in IPv4)."""
    text = _str(value)
    if "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_url(value: Any) -> bool:
    """Kubernetes' isURL(): Go's url.ParseRequestURI (an absolute URI or an absolute path)."""
    text = _str(value)
    if not text or any(c in text for c in " \t\n"):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return bool(parts.scheme) or text.startswith("/")


@dataclass(frozen=True)
class _Url:
    scheme: str


def _url(value: Any) -> _Url:
    if not _is_url(value):
        raise CelError("invalid URL")
    return _Url(urlsplit(_str(value)).scheme)


def _get_scheme(value: Any) -> str:
    if isinstance(value, _Url):
        return value.scheme
    raise CelError("no matching overload for getScheme")


_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@dataclass(frozen=True)
class _Validator:
    name: str

    def validate(self, value: Any) -> list[str] | None:
        text = _str(value)
        if self.name == "dns1123Label":
            ok = len(text) <= 63 and _DNS1123_LABEL.fullmatch(text) is not None
            return None if ok else ["must be a valid DNS label"]
        raise CelError(f"format {self.name}")


class _Format:
    """The `format` library: `format.dns1123Label().validate(self)`."""


_FORMAT = _Format()


def _format_method(name: str) -> Callable[..., Any]:
    def run(target: Any, *args: Any) -> Any:
        if isinstance(target, _Format):
            return _Validator(name)
        raise CelError(f"no matching overload for {name}")

    return run


def _validate(target: Any, value: Any) -> Any:
    if isinstance(target, _Validator):
        return target.validate(value)
    raise CelError("no matching overload for validate")


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "size": _size,
    "int": _to_int,
    "string": _to_string,
    "duration": _duration,
    "isIP": _is_ip,
    "isURL": _is_url,
    "url": _url,
    "matches": _matches,
}
_METHODS: dict[str, Callable[..., Any]] = {
    "size": _size,
    "contains": lambda s, sub: _str(sub) in _str(s),
    "startsWith": lambda s, prefix: _str(s).startswith(_str(prefix)),
    "endsWith": lambda s, suffix: _str(s).endswith(_str(suffix)),
    "matches": _matches,
    "substring": _substring,
    "split": _split,
    "lowerAscii": lambda s: _str(s).lower(),
    "upperAscii": lambda s: _str(s).upper(),
    "trim": lambda s: _str(s).strip(),
    "getScheme": _get_scheme,
    "dns1123Label": _format_method("dns1123Label"),
    "validate": _validate,
}


# ---- the entry points ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    rule: str
    run: Expr

    def evaluate(self, value: Any) -> bool | None:
        """True when the rule holds for `self = value`, False when it is broken, None when the rule
        cannot decide (an error, a value the workspace does not know)."""
        try:
            result = self.run({"self": value})
        except (CelError, RecursionError):
            return None
        return result if isinstance(result, bool) else None


@lru_cache(maxsize=1024)
def compile_rule(rule: str) -> Program | None:
    """The compiled rule, or None when it is a transition rule or uses CEL this module does not implement."""
    try:
        return Program(rule, _Parser(rule).parse())
    except (Unsupported, IndexError, ValueError):
        return None


def unsupported_reason(rule: str) -> str | None:
    """Why `compile_rule` gives None for a rule (for tests), or None when it compiles."""
    try:
        _Parser(rule).parse()
    except (Unsupported, IndexError, ValueError) as exc:
        return str(exc) or type(exc).__name__
    return None
