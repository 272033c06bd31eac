"""Strict reading of parameter files, strict value types, and one-line error messages.

Every problem with a scenario or sweep file becomes a :class:`ParameterError` whose message is one
line: ``FILE: field.path: what is wrong (allowed: ...)``, or ``FILE:LINE:COL: problem`` for YAML
syntax. The YAML loader refuses what PyYAML would silently accept: a key given twice in one mapping
(the last one would win), an empty or comment-only file, a top level that is not a mapping, aliases
that refer to themselves or expand to millions of values. The value types (``Float``, ``Int``,
``SafeName``, ...) refuse booleans given for numbers and names that could act as paths, and read
integral strings such as ``1e3`` (which YAML 1.1 leaves as text) as integers.
"""

from __future__ import annotations

import difflib
import errno
import re
import stat
import types
import typing
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationError
from pydantic_core import PydanticCustomError

MAX_FILE_BYTES = 64 * 2**20
MAX_YAML_VALUES = 1_000_000
MAX_PROBLEMS_SHOWN = 8
_MERGE_TAG = "tag:yaml.org,2002:merge"

SAFE_NAME_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$"
SAFE_NAME_RULE = "1 to 128 letters, digits, '-', '_' or '.', not starting with '.'; no '/', a name is never a path"
MAX_POPULATION = 10**9
MAX_SEED = 2**63 - 1
MAX_ABM_AGENTS = 2_000_000
# Resident memory of one ABM agent (provider, user or speculator): measured ~510 bytes with Mesa 3.3.1 on a
# DePINModel of 300,000 agents (psutil RSS before and after construction and two steps).
ABM_BYTES_PER_AGENT = 520


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("bool_not_number", "expected a number, got a boolean ({value})",
                                  {"value": str(value).lower()})
    return value


def _integer_in(value: Any) -> Any:
    """Refuse booleans; read integral number strings such as ``1e3`` (PyYAML leaves them as text)."""
    value = _not_bool(value)
    if not isinstance(value, str):
        return value
    try:
        number = Decimal(value.strip().replace("_", ""))
    except InvalidOperation:
        return value  # pydantic reports it as not an integer
    if not number.is_finite():
        raise PydanticCustomError("finite_number", "Input should be a finite number")
    if number.adjusted() > 30:
        raise PydanticCustomError("int_too_large", "the number is too large, got {value}", {"value": value})
    if number != number.to_integral_value():
        raise PydanticCustomError("int_fraction", "Input should be a whole number, got {value}", {"value": value})
    return int(number)


def _safe_name(value: str) -> str:
    if not re.fullmatch(SAFE_NAME_PATTERN, value):
        raise PydanticCustomError("unsafe_name", "{value} is not a safe name (allowed: {rule})",
                                  {"value": repr(value[:60]), "rule": SAFE_NAME_RULE})
    return value


Float = Annotated[float, BeforeValidator(_not_bool)]
Int = Annotated[int, BeforeValidator(_integer_in)]
NonNeg = Annotated[Float, Field(ge=0)]
Share = Annotated[Float, Field(ge=0, le=1)]
Population = Annotated[Int, Field(le=MAX_POPULATION)]
Seed = Annotated[Int, Field(ge=0, le=MAX_SEED)]
SafeName = Annotated[str, AfterValidator(_safe_name)]


def one_line(text: str) -> str:
    """``text`` with every line break and control character escaped, so it prints as one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class ParameterError(ValueError):
    """Invalid parameter file: a one-line message naming the file, field path and what is allowed."""

    def __init__(self, message: str):
        super().__init__(one_line(str(message)))


def field_error(field: str, problem: str) -> PydanticCustomError:
    """An error for a model validator that points at ``field`` (relative to the model) rather than the model.

    Args:
        field: dotted path of the offending field inside the validated model, e.g. ``initial_supply``.
        problem: what is wrong and what is allowed.

    Returns:
        The exception to raise; :func:`format_validation_error` prints it under the full path.
    """
    return PydanticCustomError("cross_field", "{field}: {problem}", {"field": field, "problem": problem})


# --- YAML ------------------------------------------------------------------------------------------------


class _Refused(Exception):
    """A problem found by the strict loader; the message lacks the file name."""


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, recursive aliases and alias bombs, naming path and lines."""

    def get_single_data(self) -> Any:
        """The document's data, after checking the composed node tree."""
        node = self.get_single_node()
        if node is None:
            raise _Refused("the file is empty (no YAML content, only blank lines or comments); "
                           "expected a mapping of parameters")
        self._sizes: dict[int, int] = {}
        self._open: set[int] = set()
        self._check(node, "")
        return self.construct_document(node)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Construct one node; a value PyYAML cannot build (e.g. 2021-02-30) is reported at its position."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value ({exc})", node.start_mark) from exc

    def _check(self, node: yaml.Node, path: str) -> int:
        """Refuse duplicate keys and recursive or exploding aliases; return the expanded value count."""
        key = id(node)
        if key in self._sizes:
            return self._sizes[key]
        if key in self._open:
            raise _Refused(f"{path or '<root>'}: an alias refers to a collection that contains it "
                           f"(line {node.start_mark.line + 1}); recursive structures are not allowed")
        self._open.add(key)
        size = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Mark] = {}
            for k, v in node.value:
                child = path
                if k.tag != _MERGE_TAG and isinstance(k, yaml.ScalarNode):
                    name = self.construct_object(k)
                    line = k.start_mark.line + 1
                    child = f"{path}.{name}" if path else str(name)
                    if name in seen:
                        first = seen[name]
                        if first.line == k.start_mark.line:
                            where = f"line {line}, columns {first.column + 1} and {k.start_mark.column + 1}"
                        else:
                            where = f"line {first.line + 1} and again at line {line}"
                        raise _Refused(f"{child}: duplicate key, given at {where} (each key may appear once in a "
                                       "mapping; YAML would silently keep the last)")
                    seen[name] = k.start_mark
                size += self._check(v, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                size += self._check(v, f"{path}.{i}" if path else str(i))
        self._open.discard(key)
        self._sizes[key] = size
        if size > MAX_YAML_VALUES:
            raise _Refused(f"{path or '<root>'}: aliases expand to more than {MAX_YAML_VALUES:,} values "
                           f"(line {node.start_mark.line + 1}); a parameter file is far smaller")
        return size


def _os_problem(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, PermissionError):
        return "permission denied (cannot read the file)"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, expected a YAML file"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (the path points back to itself)"
    if exc.errno == errno.ENOTDIR:
        return "file not found (a component of the path is not a directory)"
    if exc.errno == errno.ENAMETOOLONG:
        return "file name too long"
    return f"cannot read the file: {exc.strerror or exc}"


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _yaml_problem(name: str, text: str, exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            where = f" at line {exc.context_mark.line + 1}" if exc.context_mark is not None else ""
            problem += f" ({exc.context}{where})"
        if "'\\t'" in problem:
            problem += "; indent with spaces, YAML does not allow tabs"
        return f"{name}:{mark.line + 1}:{mark.column + 1}: {problem}"
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        return f"{name}:{line}:{col}: control character U+{char:04X} is not allowed in a YAML file"
    return f"{name}: not valid YAML: {exc}"


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping strictly.

    Args:
        path: the file.

    Returns:
        The top-level mapping.

    Raises:
        ParameterError: one line naming the file (and line and column for syntax errors): missing,
            unreadable, a directory or device, a symlink loop, not UTF-8, empty or comments only,
            invalid YAML, a duplicate key, or a top level that is not a mapping.
    """
    path = Path(path)
    name = str(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ParameterError(f"{name}: is a directory, expected a YAML file")
        if not stat.S_ISREG(info.st_mode):
            raise ParameterError(f"{name}: not a regular file (a device, pipe or socket); expected a YAML file")
        if info.st_size > MAX_FILE_BYTES:
            raise ParameterError(f"{name}: the file has {info.st_size:,} bytes, more than the limit of "
                                 f"{MAX_FILE_BYTES:,} for a parameter file")
        raw = path.read_bytes()
    except ParameterError:
        raise
    except OSError as exc:
        raise ParameterError(f"{name}: {_os_problem(exc)}") from exc
    except ValueError as exc:  # e.g. an embedded NUL byte in the name
        raise ParameterError(f"{name}: invalid file name ({exc})") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ParameterError(f"{name}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line}, column {col} "
                             f"cannot be decoded); save the file as UTF-8") from exc
    loader = None
    try:
        loader = StrictLoader(text)
        data = loader.get_single_data()
    except _Refused as exc:
        raise ParameterError(f"{name}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ParameterError(_yaml_problem(name, text, exc)) from exc
    except RecursionError as exc:
        raise ParameterError(f"{name}: the YAML is nested too deeply") from exc
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(data, dict):
        raise ParameterError(f"{name}: the top level must be a mapping of parameters (key: value), "
                             f"got {_type_name(data)}")
    return data


# --- pydantic errors -------------------------------------------------------------------------------------


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` from a type annotation."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _model_at(model: type[BaseModel] | None, loc: tuple) -> type[BaseModel] | None:
    """The model class found at ``loc`` under ``model`` (through tuples and dicts), or None."""
    node: Any = model
    for part in loc:
        node = _unwrap(node)
        if _is_model(node):
            field = node.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return None
            node = field.annotation
        elif typing.get_origin(node) is tuple:
            args = typing.get_args(node)
            if len(args) == 2 and args[1] is Ellipsis:
                node = args[0]
            elif isinstance(part, int) and part < len(args):
                node = args[part]
            else:
                return None
        elif typing.get_origin(node) is dict:
            node = typing.get_args(node)[1]
        else:
            return None
    node = _unwrap(node)
    return node if _is_model(node) else None


def _number(value: Any) -> str:
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _bounds(model: type[BaseModel] | None, loc: tuple, ctx: dict) -> str:
    """``>= 0 and <= 1`` from the field's declared bounds (or the error's own constraint)."""
    found: dict[str, Any] = {}
    parent = _model_at(model, loc[:-1])
    field = parent.model_fields.get(loc[-1]) if parent is not None and isinstance(loc[-1], str) else None
    for meta in field.metadata if field is not None else ():
        for key in ("ge", "gt", "le", "lt"):
            if getattr(meta, key, None) is not None:
                found[key] = getattr(meta, key)
    for key in ("ge", "gt", "le", "lt"):
        if key in ctx:
            found.setdefault(key, ctx[key])
    symbols = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    return " and ".join(f"{symbols[k]} {_number(v)}" for k, v in found.items())


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    return _type_name(value)


_OWN_MESSAGE = {"bool_not_number", "unsafe_name", "int_too_large", "int_fraction"}


def _problem(e: dict, model: type[BaseModel] | None) -> tuple[str, str]:
    """(dotted path, problem) for one pydantic error dict."""
    loc, kind, ctx = tuple(e["loc"]), e["type"], e.get("ctx") or {}
    path = ".".join(str(p) for p in loc)
    if kind == "cross_field":
        return ".".join(p for p in (path, ctx["field"]) if p), ctx["problem"]
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        if parent is None:
            return path, "unknown key (not part of the schema)"
        allowed = list(parent.model_fields)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        return path, f"unknown key (allowed: {', '.join(allowed)}){hint}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return path, f"expected a mapping (key: value), got {_type_name(e.get('input'))}"
    if kind in ("tuple_type", "list_type"):
        return path, f"expected a list, got {_type_name(e.get('input'))}"
    if kind == "missing":
        return path, "required, but missing"
    msg = "Input should be a whole number" if kind == "int_from_float" else e["msg"]
    if kind in _OWN_MESSAGE:
        return path, msg
    if kind == "finite_number":
        return path, f"{msg}, got {_shown(e.get('input'))} (allowed: finite numbers; inf and nan are refused)"
    allowed = _bounds(model, loc, ctx) if kind in ("greater_than", "greater_than_equal", "less_than",
                                                   "less_than_equal") else ""
    got = f", got {_shown(e['input'])}" if "input" in e and not isinstance(e["input"], (dict, list)) else ""
    return path, f"{msg}{got}" + (f" (allowed: {allowed})" if allowed else "")


def format_validation_error(source: str, err: ValidationError, model: type[BaseModel] | None = None) -> str:
    """Turn a pydantic error into one line: ``source: field.path: problem; other.path: problem``.

    Args:
        source: the file (or other origin) named at the start of the message.
        err: the validation error.
        model: the validated model class, used to list the allowed keys and bounds of a field.

    Returns:
        A single line; at most ``MAX_PROBLEMS_SHOWN`` problems, then how many more there are.
    """
    problems = [f"{p}: {m}" if p else m for p, m in (_problem(e, model) for e in err.errors())]
    problems = list(dict.fromkeys(problems))
    more = len(problems) - MAX_PROBLEMS_SHOWN
    text = "; ".join(problems[:MAX_PROBLEMS_SHOWN]) + (f"; and {more} more problems" if more > 0 else "")
    return one_line(f"{source}: {text}")
