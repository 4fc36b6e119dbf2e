"""Load a scene config: YAML file + CLI overrides + presets -> a validated ``SceneConfig``.

Order of operations (each step's errors are ``ConfigError`` with a one-line message):

1. Read the scene YAML with OmegaConf's YAML loader (a mapping at the top level).
2. Apply the CLI dotlist overrides (``frames=8``, ``camera.width=320``, ``room.size_x=[4,5]``,
   ``sensor=kinect_v1``) to that raw mapping, in order. Values are parsed as YAML, exactly as
   ``OmegaConf.from_dotlist`` does. An override below a key that still holds a preset name
   (``sensor=kinect_v1 sensor.depth_max=3``) loads the preset first, then changes the one field.
3. Resolve presets. Rule: any top-level key whose schema type is a dataclass may be given as a
   string ``<name>``, which names the file ``<configs>/<key>s/<name>.yaml``, or
   ``<configs>/<key>/<name>.yaml`` when the key already ends in ``s`` (``sensor`` ->
   ``configs/sensors/``, ``camera`` -> ``configs/cameras/``, ``lights`` -> ``configs/lights/``).
   The file is a mapping with that dataclass's fields; a missing ``name`` field is set to
   ``<name>``. ``<configs>`` is ``find_configs_dir(scene_path)``.
4. Check every key and value type against the schema's dataclasses (unknown keys get the closest
   valid names), merge onto ``OmegaConf.structured(SceneConfig)``, check that every float (scalars
   and list items, in every section, interpolations resolved) is finite: NaN and +-inf are refused
   here, once, for every float key of the schema; then build the dataclasses with
   ``OmegaConf.to_object``, which runs the schema's range checks; their errors get the full path
   (also inside mappings of dataclasses: ``objects.groups.<name>.count``).

A YAML file may hold at most :data:`MAX_YAML_NODES` nodes (keys, values and list items, with
aliases expanded): a bigger file, an alias bomb or a recursive alias is refused with one line
before it is built (OmegaConf 2.4 has the same default limit; 2.3 has none).

Every message says where the offending value came from: the scene file, a preset file or the
override ``'key=value'`` that set it.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from omegaconf import BooleanNode, DictConfig, FloatNode, IntegerNode, ListConfig, OmegaConf, StringNode
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException, ValidationError

from synthgen.config.errors import ConfigError, FieldValueError
from synthgen.config.schema import SceneConfig

#: Environment variable naming the configs directory (it replaces the search, it is not a list).
CONFIG_PATH_ENV = "SYNTHGEN_CONFIG_PATH"

#: Most YAML nodes (keys, values, list items; aliases expanded) a config file may hold.
MAX_YAML_NODES = 10_000

_Path = tuple[str | int, ...]

# Dotted identifiers only: OmegaConf's grammar has more (indices, quoting) that we do not need.
_OVERRIDE_KEY = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*\Z")

# How the schema's scalar types are checked: OmegaConf's own value nodes, so a value passes here
# exactly when the structured merge would accept it ('320' for an int, 1 for a float, ...).
_SCALAR_NODES: dict[type, type] = {int: IntegerNode, float: FloatNode, str: StringNode, bool: BooleanNode}


# --------------------------------------------------------------------------------------------
# Public API


def find_configs_dir(scene_path: str | Path) -> Path:
    """The directory presets are looked up in, for a scene file at ``scene_path``.

    ``$SYNTHGEN_CONFIG_PATH`` if set (one directory); else the first ``configs/`` directory found
    walking up from the scene file's folder (the folder itself first); else the repository's
    ``configs/`` next to the installed package. The returned directory may not exist (only for
    the environment variable and the last fallback); a missing preset then says so.
    """
    env = os.environ.get(CONFIG_PATH_ENV)
    if env:
        return Path(env).expanduser()
    folder = Path(scene_path).expanduser().absolute().parent
    for candidate in (folder, *folder.parents):
        if (candidate / "configs").is_dir():
            return candidate / "configs"
    import synthgen  # local import: this module is imported while synthgen's package initialises

    return Path(synthgen.__file__).resolve().parents[1] / "configs"


def preset_dir(configs_dir: str | Path, key: str) -> Path:
    """Folder holding the presets for top-level key ``key``: ``<key>s/``, or ``<key>/`` when the
    key already ends in ``s`` (``sensor`` -> ``sensors/``, ``objects`` -> ``objects/``)."""
    return Path(configs_dir) / (key if key.endswith("s") else key + "s")


def list_presets(configs_dir: str | Path, key: str) -> list[str]:
    """Sorted preset names (file stems of ``*.yaml``) available for ``key``; [] if none."""
    folder = preset_dir(configs_dir, key)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml") if p.is_file())


def load_scene_config(path: str | Path, overrides: Sequence[str] = (), *,
                      configs_dir: str | Path | None = None) -> SceneConfig:
    """Load, override, resolve presets and validate a scene YAML; return a ``SceneConfig``.

    ``overrides`` are ``key=value`` dotlist items applied to the raw YAML before presets are
    resolved. ``configs_dir`` replaces ``find_configs_dir(path)`` (tests, embedding). Raises
    ``ConfigError`` (one-line message) for every problem in the files or the overrides.
    """
    scene_path = Path(path)
    shown = str(path)
    if not scene_path.exists():
        where = "" if scene_path.is_absolute() else f" (resolved to {scene_path.absolute()})"
        raise ConfigError(f"scene file {shown} does not exist{where}", source=shown)
    if not scene_path.is_file():
        raise ConfigError(f"scene file {shown} is not a file; expected a YAML file", source=shown)
    cdir = Path(configs_dir) if configs_dir is not None else find_configs_dir(scene_path)

    loader = _Loader(cdir)
    raw = loader.read_mapping(scene_path, shown)
    loader.origins.set((), shown)
    # a scene file that lists its object groups gets exactly those: OmegaConf would otherwise
    # merge them with the schema's default 'main' group, adding five labelled primitives to
    # every scene (overrides may still add groups or change the default one)
    own_groups = isinstance(raw.get("objects"), dict) and "groups" in raw["objects"]
    for item in overrides:
        loader.apply_override(raw, item)
    inline_sensor = isinstance(raw.get("sensor"), dict) and "name" not in raw["sensor"]
    for key in _preset_keys():
        value = raw.get(key)
        if isinstance(value, str) and not _is_interpolation(value):
            raw[key] = loader.load_preset(key, value)
    if inline_sensor:
        # an inline sensor mapping is not the 'ideal' preset the schema's default name would
        # record in dataset.json
        raw["sensor"]["name"] = "custom"
    loader.check(raw, SceneConfig, ())
    try:
        base = OmegaConf.structured(SceneConfig)
        if own_groups:
            base.objects.groups = {}
        merged = OmegaConf.merge(base, OmegaConf.create(raw))
    except OmegaConfBaseException as exc:  # the check above should have caught it; keep it one line
        raise loader.from_omegaconf(exc) from None
    loader.check_finite(merged)
    cfg = loader.instantiate(merged, ())
    assert isinstance(cfg, SceneConfig)
    return cfg


def config_to_dict(cfg: SceneConfig) -> dict[str, Any]:
    """A plain, JSON-serialisable dict of a loaded config (for ``dataset.json``), keys in schema
    order; presets appear resolved (the sensor's full intrinsics, with its ``name``)."""
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"config_to_dict expects a SceneConfig instance, got {type(cfg).__name__}")
    return dataclasses.asdict(cfg)


# --------------------------------------------------------------------------------------------
# Schema introspection


def _hints(cls: type) -> dict[str, Any]:
    # schema.py uses `from __future__ import annotations`: resolve the strings to real types.
    return typing.get_type_hints(cls)


def _preset_keys() -> list[str]:
    return [k for k, t in _hints(SceneConfig).items() if dataclasses.is_dataclass(t)]


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is list:
        (arg,) = typing.get_args(hint) or (Any,)
        return f"a list of {_type_name(arg)}"
    if origin is dict:
        return "a mapping"
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _type_name(a) for a in typing.get_args(hint))
    if dataclasses.is_dataclass(hint):
        return f"a mapping of {hint.__name__} fields"
    return getattr(hint, "__name__", str(hint))


# --------------------------------------------------------------------------------------------
# Formatting helpers


def _dotted(path: _Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _found(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _display(path: Path) -> str:
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path.absolute())


def _is_interpolation(value: Any) -> bool:
    # OmegaConf resolves "${...}" later, against the merged config; its type is checked then.
    return isinstance(value, str) and "${" in value


class _Origins:
    """Which source (scene file, preset file, override) last set each key path."""

    def __init__(self) -> None:
        self._by_path: dict[tuple[str, ...], str] = {}

    def set(self, path: Sequence[str], label: str) -> None:
        path = tuple(path)
        # A source that replaces a subtree replaces the origins recorded below it.
        for p in [p for p in self._by_path if len(p) > len(path) and p[:len(path)] == path]:
            del self._by_path[p]
        self._by_path[path] = label

    def of(self, path: _Path) -> str:
        keys = tuple(str(p) for p in path if not isinstance(p, int))
        for n in range(len(keys), -1, -1):
            if keys[:n] in self._by_path:
                return self._by_path[keys[:n]]
        return "the config"


# --------------------------------------------------------------------------------------------
# The loader's steps


class _Loader:
    """State for one ``load_scene_config`` call: the configs directory and the origins map."""

    def __init__(self, configs_dir: Path):
        self.configs_dir = configs_dir
        self.origins = _Origins()

    # -- files ---------------------------------------------------------------------------

    def read_mapping(self, path: Path, shown: str) -> dict[Any, Any]:
        """A YAML file's top-level mapping as plain Python (interpolations left unresolved)."""
        try:
            _check_yaml_size(path.read_text(encoding="utf-8"), shown)
            cfg = OmegaConf.load(path)
        except yaml.MarkedYAMLError as exc:
            raise ConfigError(_yaml_message(exc, shown), source=shown) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid YAML in {shown}: {exc}", source=shown) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{shown}: expected UTF-8 text, found byte 0x{exc.object[exc.start]:02x} "
                              f"at offset {exc.start}", source=shown) from None
        except OSError as exc:
            raise ConfigError(f"cannot read {shown}: {exc.strerror or exc}", source=shown) from None
        except OmegaConfBaseException as exc:
            raise ConfigError(f"{shown}: {_omegaconf_msg(exc)}", source=shown) from None
        data = OmegaConf.to_container(cfg, resolve=False)
        if not isinstance(data, dict):
            raise ConfigError(f"{shown}: expected a mapping of keys at the top level, found a list",
                              source=shown)
        return data

    def load_preset(self, key: str, name: str) -> dict[Any, Any]:
        """The mapping in the preset file that ``<key>: <name>`` refers to."""
        set_in = self.origins.of((key,))
        stem = name[:-5] if name.endswith(".yaml") else name
        folder = preset_dir(self.configs_dir, key)
        if not stem or stem in (".", "..") or "/" in stem or "\\" in stem:
            raise ConfigError(f"{key}: expected a preset name (a file in {_display(folder)} without "
                              f".yaml) or a mapping, found {name!r} in {set_in}", key=key, source=set_in)
        path = folder / f"{stem}.yaml"
        if not path.is_file():
            available = list_presets(self.configs_dir, key)
            if available:
                listing = "available: " + ", ".join(available)
            elif folder.is_dir():
                listing = f"no presets in {_display(folder)}"
            else:
                listing = f"directory {_display(folder)} does not exist"
            raise ConfigError(f"{key}: preset '{stem}' not found: {_display(path)} does not exist "
                              f"({listing}); set in {set_in}", key=key, source=_display(path))
        shown = _display(path)
        data = self.read_mapping(path, shown)
        fields = {f.name for f in dataclasses.fields(_hints(SceneConfig)[key])}
        if "name" in fields and "name" not in data:
            data["name"] = stem
        self.origins.set((key,), shown)
        return data

    # -- overrides -----------------------------------------------------------------------

    def apply_override(self, raw: dict[Any, Any], item: str) -> None:
        """Set one ``key=value`` dotlist item in ``raw`` (value parsed as YAML)."""
        if not isinstance(item, str) or "=" not in item:
            raise ConfigError(f"malformed override {item!r}: expected key=value, e.g. camera.width=320",
                              source=repr(item))
        key, _, text = item.partition("=")
        key = key.strip()
        if not _OVERRIDE_KEY.match(key):
            raise ConfigError(f"malformed override {item!r}: expected a dotted key such as camera.width "
                              f"before '=', found {key!r}", source=repr(item))
        try:
            # OmegaConf's own dotlist parser, so values read as they would with OmegaConf alone.
            parsed = OmegaConf.to_container(OmegaConf.from_dotlist([f"{key}={text}"]), resolve=False)
        except (yaml.YAMLError, OmegaConfBaseException, ValueError) as exc:
            detail = getattr(exc, "problem", None) or _omegaconf_msg(exc)
            raise ConfigError(f"malformed override {item!r}: value {text!r} is not valid YAML ({detail})",
                              source=repr(item)) from None
        parts = key.split(".")
        value: Any = parsed
        for part in parts:
            value = value[part]

        label = f"override '{item}'"
        node = raw
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif i == 0 and isinstance(child, str) and part in _preset_keys() and not _is_interpolation(child):
                child = node[part] = self.load_preset(part, child)
            if not isinstance(child, dict):
                where = _dotted(tuple(parts[:i + 1]))
                raise ConfigError(f"cannot apply {label}: {where} is {_found(child)} in "
                                  f"{self.origins.of(tuple(parts[:i + 1]))}, not a mapping",
                                  key=key, source=label)
            node = child
        node[parts[-1]] = value
        self.origins.set(parts, label)

    # -- validation ----------------------------------------------------------------------

    def check(self, value: Any, hint: Any, path: _Path) -> None:
        """Check ``value`` (plain Python) against the schema type ``hint``; raise on the first
        unknown key or wrong type, naming the full key path and the value's source."""
        if _is_interpolation(value) or hint is Any:
            return
        if isinstance(value, str) and value == "???":
            # OmegaConf's missing-value marker: merged onto the schema it would silently keep the
            # default, which is never what someone who wrote it meant.
            raise self._type_error(path, _type_name(hint), value)
        origin = typing.get_origin(hint)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            if value is None and len(args) < len(typing.get_args(hint)):
                return
            if len(args) == 1:
                self.check(value, args[0], path)
            return
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                expected = _type_name(hint)
                if len(path) == 1 and path[0] in _preset_keys():
                    expected += f" or a preset name in {_display(preset_dir(self.configs_dir, str(path[0])))}"
                raise self._type_error(path, expected, value)
            hints = _hints(hint)
            valid = [f.name for f in dataclasses.fields(hint)]
            for key, sub in value.items():
                if key not in hints:
                    raise self._unknown_key(path, key, valid)
                self.check(sub, hints[key], path + (key,))
            return
        if origin is list:
            if not isinstance(value, list):
                raise self._type_error(path, _type_name(hint), value)
            (arg,) = typing.get_args(hint) or (Any,)
            for i, item in enumerate(value):
                self.check(item, arg, path + (i,))
            return
        if origin is dict:
            if not isinstance(value, dict):
                raise self._type_error(path, _type_name(hint), value)
            args = typing.get_args(hint)
            for key, item in value.items():
                self.check(item, args[1] if len(args) == 2 else Any, path + (key,))
            return
        node_type = _SCALAR_NODES.get(hint)
        if node_type is None:
            return  # a type this checker does not know: OmegaConf's merge will judge it
        if value is None or isinstance(value, (dict, list)):
            raise self._type_error(path, _type_name(hint), value)
        try:
            node_type(value)
        except ValidationError:
            raise self._type_error(path, _type_name(hint), value) from None

    def _type_error(self, path: _Path, expected: str, value: Any) -> ConfigError:
        src = self.origins.of(path)
        return ConfigError(f"{_dotted(path)}: expected {expected}, found {_found(value)} in {src}",
                           key=_dotted(path), source=src)

    def _unknown_key(self, path: _Path, key: Any, valid: list[str]) -> ConfigError:
        full = _dotted(path + (str(key),))
        src = self.origins.of(path + (str(key),))
        prefix = _dotted(path) + "." if path else ""
        close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
        hint = f"; did you mean '{prefix}{close[0]}'?" if close else ""
        return ConfigError(f"unknown key '{full}' in {src}{hint} (valid: {', '.join(valid)})",
                           key=full, source=src)

    def check_finite(self, merged: DictConfig) -> None:
        """Refuse NaN and +-inf in every float of the merged config (interpolations resolved),
        naming the full key path (``lights.point_intensity[1]``) and where the value came from."""
        try:
            data = OmegaConf.to_container(merged, resolve=True)
        except OmegaConfBaseException as exc:
            raise self.from_omegaconf(exc) from None
        stack: list[tuple[_Path, Any]] = [((), data)]
        while stack:
            path, value = stack.pop()
            if isinstance(value, dict):
                stack.extend((path + (str(k),), v) for k, v in reversed(list(value.items())))
            elif isinstance(value, list):
                stack.extend((path + (i,), v) for i, v in reversed(list(enumerate(value))))
            elif isinstance(value, float) and not math.isfinite(value):
                raise self._type_error(path, "a finite number", value)

    def instantiate(self, node: Any, path: _Path) -> Any:
        """``OmegaConf.to_object`` bottom-up, so a range check's error names its dataclass's path."""
        self._instantiate_children(node, path)
        try:
            return OmegaConf.to_object(node)
        except FieldValueError as exc:
            full = path + (exc.key,)
            src = self.origins.of(full)
            raise ConfigError(f"{_dotted(full)}: expected {exc.expected}, found {exc.found!r} in {src}",
                              key=_dotted(full), source=src) from None
        except OmegaConfBaseException as exc:
            raise self.from_omegaconf(exc) from None
        except (ValueError, TypeError) as exc:  # a check that does not use FieldValueError
            where = _dotted(path) or "config"
            raise ConfigError(f"{where}: {exc} in {self.origins.of(path)}", key=where or None) from None

    def _instantiate_children(self, node: DictConfig | ListConfig, path: _Path) -> None:
        # Every dataclass below ``node``, also the values of a mapping or list of dataclasses
        # (``objects.groups.<name>``), is built before ``node`` so its error names its own path.
        items = node.items() if isinstance(node, DictConfig) else enumerate(node)
        for key, child in items:
            if not isinstance(child, (DictConfig, ListConfig)):
                continue
            sub = path + ((str(key),) if isinstance(node, DictConfig) else (key,))
            if isinstance(child, DictConfig) and dataclasses.is_dataclass(OmegaConf.get_type(child)):
                self.instantiate(child, sub)
            else:
                self._instantiate_children(child, sub)

    def from_omegaconf(self, exc: OmegaConfBaseException) -> ConfigError:
        key = getattr(exc, "full_key", None) or ""
        src = self.origins.of(tuple(re.split(r"[.\[\]]+", key.strip("]")))) if key else self.origins.of(())
        if isinstance(exc, MissingMandatoryValue):
            return ConfigError(f"{key}: expected a value, found '???' (missing) in {src}", key=key, source=src)
        where = f"{key}: " if key else ""
        return ConfigError(f"{where}{_omegaconf_msg(exc)} in {src}", key=key or None, source=src)


def _check_yaml_size(text: str, shown: str) -> None:
    """Refuse a YAML document of more than :data:`MAX_YAML_NODES` nodes once aliases are
    expanded (an alias bomb grows exponentially), or with an alias inside its own anchor, before
    anything builds it. Composes the node graph with PyYAML (syntax errors propagate as
    ``yaml.MarkedYAMLError``) and counts each shared node once per reference, iteratively (a
    deeply nested file must not exhaust the stack here)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    root = yaml.compose(text, Loader=loader)
    if root is None:
        return
    counts: dict[int, int] = {}     # id(node) -> expanded size, once known
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        if children_done:
            on_path.discard(key)
            counts[key] = min(1 + sum(counts[id(c)] for c in children), MAX_YAML_NODES + 1)
            continue
        if key in counts:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                mark = child.start_mark
                raise ConfigError(f"{shown}: expected YAML without recursive aliases, found an alias "
                                  f"inside its own anchor (anchor at line {mark.line + 1}, column "
                                  f"{mark.column + 1})", source=shown)
            if id(child) not in counts:
                stack.append((child, False))
    if counts[id(root)] > MAX_YAML_NODES:
        raise ConfigError(f"{shown}: config too large: expected at most {MAX_YAML_NODES} YAML nodes "
                          f"(keys, values and list items, aliases expanded), found more", source=shown)


def _omegaconf_msg(exc: BaseException) -> str:
    msg = getattr(exc, "msg", None) or str(exc)
    return msg.strip().splitlines()[0] if msg.strip() else type(exc).__name__


def _yaml_message(exc: yaml.MarkedYAMLError, shown: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    text = f"invalid YAML in {shown}{where}: {exc.problem or exc.context or 'syntax error'}"
    if exc.context and exc.problem:
        started = exc.context_mark
        text += f" ({exc.context}" + (f" started at line {started.line + 1})" if started else ")")
    return text
