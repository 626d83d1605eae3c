"""Answers and rendering, with copier's semantics, entirely in memory.

:func:`resolve` turns the person's answers into the full set a template renders with (defaults,
``when``, types, choices, validators), reporting every problem at once. :func:`render` produces
every file and folder of the project in memory, so a template that fails anywhere writes
nothing; :func:`write` then puts the result in a directory.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import hashlib
import importlib.util
import itertools
import json
import keyword
import os
import re
import stat
import sys
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any, TypeVar, cast

import jinja2
import pathspec
import yaml
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from jinja2.sandbox import SandboxedEnvironment
from jinja2_ansible_filters import AnsibleCoreFiltersExtension  # type: ignore[import-untyped]
from packaging.version import InvalidVersion, Version

from .template import (
    MISSING,
    QUESTION_TYPES,
    Migration,
    Question,
    Task,
    Template,
    TemplateError,
    is_templated,
    jinja_markers,
    parse_choices,
)
from .vcs import Origin

#: Names the bootstrapper checks itself, beyond a template's own validators (``names`` in
#: hyperagent.yml maps a question to one of these).
NAME_RULES = ("python-package", "python-distribution")


class AnswersError(Exception):
    """Answers the template cannot take: every problem, each as (question, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {m}" if k else m for k, m in problems))

    def __reduce__(self) -> tuple[Any, tuple[list[tuple[str, str]]]]:
        return (type(self), (self.problems,))


#: True in a template's renderer process (:mod:`.confined`), where a confined template renders.
IN_RENDERER = False

_Fn = TypeVar("_Fn", bound=Callable[..., Any])


def _in_renderer(fn: _Fn) -> _Fn:
    """What renders with a confined template's environment runs in its renderer process."""

    @functools.wraps(fn)
    def call(template: Template, *args: Any, **kwargs: Any) -> Any:
        if template.confined and template.extensions and not IN_RENDERER:
            from . import confined  # noqa: PLC0415 - it imports this module

            return confined.call(fn.__name__, template, args, kwargs)
        return fn(template, *args, **kwargs)

    return cast(_Fn, call)


# --- the Jinja environment: copier's settings, filters and globals -------------------------------


class _Sandbox(SandboxedEnvironment):
    """copier's sandbox: a path's ``parser`` attribute is off limits too."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, PurePath) and attr == "parser":
            return False
        return bool(super().is_safe_attribute(obj, attr, value))


class _Loader(jinja2.FileSystemLoader):
    """copier's loader: a file that resolves outside the template (through a symlink) is refused."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if not Path(filename).resolve().is_relative_to(self.searchpath[0]):
            raise TemplateError(
                template, f"resolves to {Path(filename).resolve()}, outside the template folder"
            )
        return source, filename, uptodate


#: What the ``{% yield %}`` tag of the path part being rendered binds: (name, iterable).
_YIELDED: ContextVar[tuple[str, Any] | None] = ContextVar("yielded", default=None)


class _YieldExtension(Extension):
    """copier's ``{% yield NAME from ITERABLE %}...{% endyield %}`` for path names: one path per
    value. Rendering records what it binds (in ``_YIELDED``) and renders its body (empty when
    the name is still undefined); :func:`_render_part` renders the part once per value. Written
    after copier's YieldExtension, which lives in copier (not a library we load)."""

    tags = {"yield"}  # noqa: RUF012 - Jinja's Extension API

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        name = parser.parse_assign_target(name_only=True)
        parser.stream.expect("name:from")
        iterable = parser.parse_expression()
        body = parser.parse_statements(("name:endyield",), drop_needle=True)
        call = self.call_method("_bind", [nodes.Const(name.name), iterable])
        return nodes.CallBlock(call, [], [], body, lineno=lineno)

    def _bind(self, name: str, iterable: Any, caller: Callable[[], str]) -> str:
        if _YIELDED.get() is not None:
            raise jinja2.TemplateRuntimeError("only one {% yield %} tag is allowed in a path name")
        _YIELDED.set((name, iterable))
        try:
            return caller()
        except jinja2.UndefinedError:
            return ""


def _json_default(value: Any) -> Any:
    """copier hands ``to_json`` pydantic's encoder, which turns its context's own types (paths,
    the lazy ``_copier_conf``) into JSON, and what YAML answers hold (dates, times) as pydantic
    writes them: ISO 8601, a UTC time ending in ``Z``."""
    if isinstance(value, PurePath | uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | tuple | frozenset):
        return list(value)
    if isinstance(value, datetime.datetime):
        text = value.isoformat()
        return text.removesuffix("+00:00") + "Z" if value.utcoffset() == _ZERO else text
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_ZERO = datetime.timedelta(0)


def _pathjoin(*path: str, mode: str = "posix") -> str:
    """copier's ``pathjoin`` global."""
    kinds = {"posix": PurePosixPath, "windows": PureWindowsPath, "native": PurePath}
    if mode not in kinds:
        raise ValueError(f"pathjoin mode {mode!r}: use posix, windows or native")
    return str(kinds[mode](*path))


@cache
def _environment(
    root: Path, envops_json: str, extensions: tuple[str, ...] = ()
) -> SandboxedEnvironment:
    # One compiled environment per template (and settings): rendering the same template again
    # reuses its compiled files, which is most of the cost.
    envops = json.loads(envops_json)
    envops.setdefault("keep_trailing_newline", True)
    undefined = envops.pop("undefined", None)
    if undefined == "jinja2.StrictUndefined":
        envops["undefined"] = jinja2.StrictUndefined
    try:
        # copier's default extensions: jinja2-ansible-filters' whole core set (to_nice_yaml,
        # strftime, combine, hash, regex_*, ...), loaded the way copier loads it; then the
        # template's own, in its order, by Jinja's importer (which copier-template-extensions'
        # loader, when listed first, teaches to load `file.py:Class` from the template).
        env = _Sandbox(
            loader=_Loader(str(root.resolve())),
            auto_reload=True,
            extensions=[AnsibleCoreFiltersExtension, _YieldExtension, *extensions],
            **envops,
        )
    except TypeError as err:
        raise TemplateError("_envops", f"not a Jinja environment option: {err}") from err
    except ImportError as err:
        raise TemplateError("_jinja_extensions", _missing_module(err, extensions)) from err
    except TemplateError:
        raise
    except Exception as err:  # the template's own code failed while loading
        if isinstance(err.__cause__, ImportError):  # as copier-template-extensions reports it
            raise TemplateError(
                "_jinja_extensions", _missing_module(err.__cause__, extensions)
            ) from err
        raise TemplateError(
            "_jinja_extensions", f"loading the template's extensions failed: {_said(err)}"
        ) from err
    env.filters["to_json"] = functools.partial(env.filters["to_json"], default=_json_default)
    env.globals["pathjoin"] = _pathjoin
    return env


def _said(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def _missing_module(err: ImportError, extensions: tuple[str, ...]) -> str:
    """Which extension needs which module the bootstrapper's environment lacks, and what to do."""
    module = err.name or ""
    top = module.split(".")[0]
    wanted = [e for e in extensions if e.split(":")[0].split(".")[0] == top] or list(extensions)
    if not module:
        return f"an extension could not be loaded ({', '.join(wanted)}): {err}"
    if isinstance(err, ModuleNotFoundError) and not _importable(top):
        return (
            f"{', '.join(wanted)} needs the Python module `{module}`, which the bootstrapper's"
            f" environment does not have; install its package there (on PyPI usually"
            f" `{top.replace('_', '-')}`) and try again"
        )
    # The module is there, but not the name (or submodule) asked of it: `from typing import
    # override` on a Python before 3.12. Installing a package would not help.
    python = ".".join(map(str, sys.version_info[:3]))
    return (
        f"{', '.join(wanted)} could not be loaded: {err}. The module `{top}` is in the"
        f" bootstrapper's environment (Python {python}), but lacks what the template imports from"
        f" it: the template may need a newer Python, or a newer version of `{top}`"
    )


def _importable(module: str) -> bool:
    """Whether the bootstrapper's environment has the top-level module ``module``."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def environment(template: Template) -> SandboxedEnvironment:
    return _environment(template.root, _envops_key(template), _extensions(template))


def _envops_key(template: Template) -> str:
    return json.dumps(dict(template.envops), sort_keys=True)


def _extensions(template: Template) -> tuple[str, ...]:
    """The template's extensions, once the person allowed them; a refusal before."""
    if template.extensions and template.confined and not IN_RENDERER:
        raise TemplateError(
            "_jinja_extensions",
            "the template's extensions load only in its renderer process (a call that renders"
            " with them went around it)",
        )
    if template.extensions and not template.trusted:
        raise TemplateError(
            "_jinja_extensions",
            f"the template loads Python code into the renderer ({', '.join(template.extensions)});"
            " it renders only once you allow that code to run (it runs inside the task's sandbox)",
        )
    return template.extensions


@lru_cache(maxsize=4096)
def _from_string(
    root: Path, envops_json: str, extensions: tuple[str, ...], source: str
) -> jinja2.Template:
    # Manifest strings (defaults, validators, paths) are compiled once, like the files are:
    # compiling is what costs, and a validator can be long.
    return _environment(root, envops_json, extensions).from_string(source)


def compile_string(template: Template, source: str) -> jinja2.Template:
    return _from_string(template.root, _envops_key(template), _extensions(template), source)


def _where(template: Template, err: jinja2.TemplateError, fallback: str) -> str:
    filename = getattr(err, "filename", None)
    name = getattr(err, "name", None)
    line = getattr(err, "lineno", None)
    if filename:
        try:
            name = str(Path(filename).resolve().relative_to(template.root.resolve()))
        except ValueError:
            name = filename
    where = name or fallback
    return f"{where}:{line}" if line else where


@_in_renderer
def render_string(template: Template, source: str, context: Mapping[str, Any], where: str) -> str:
    """Render one string of the manifest or a path; errors name ``where``."""
    try:
        return compile_string(template, source).render(**context)
    except jinja2.TemplateSyntaxError as err:
        raise TemplateError(f"{where}", f"{err.message} (line {err.lineno} of {source!r})") from err
    except jinja2.TemplateError as err:
        raise TemplateError(where, f"{type(err).__name__}: {err}") from err
    except TemplateError:
        raise
    except Exception as err:  # the template's own code failed (a filter, 1 // 0, ...)
        raise TemplateError(where, f"{type(err).__name__}: {err}") from err


# --- answers ------------------------------------------------------------------------------------


def _to_bool(value: Any) -> bool:
    """copier's cast_to_bool: numbers by value, YAML's yes/no words, else truthiness."""
    if isinstance(value, bool):
        return value
    try:
        return bool(float(value))
    except (TypeError, ValueError):
        pass
    if isinstance(value, str):
        lower = value.strip().lower()
        if not lower or lower in {"n", "no", "f", "false", "off", "~", "null", "none"}:
            return False
        if lower in {"y", "yes", "t", "true", "on"}:
            return True
    return bool(value)


def _cast(q: Question, value: Any) -> Any:  # noqa: PLR0911, PLR0912 - one branch per type
    """The value as the question's type, or ValueError saying what was expected."""
    kind = "yaml" if q.untyped else q.type
    if value is None and kind not in {"json", "yaml"}:
        raise ValueError(f"must be a {kind}, not empty")
    if kind == "bool":
        return _to_bool(value)
    if kind == "int":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"must be a whole number (got {value!r})")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be a whole number (got {value!r})") from None
    if kind == "float":
        if isinstance(value, bool):
            raise ValueError(f"must be a number (got {value!r})")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be a number (got {value!r})") from None
    if kind in {"str", "path"}:
        if isinstance(value, dict | list):
            raise ValueError(f"must be text (got {type(value).__name__})")
        return value.decode() if isinstance(value, bytes) else str(value)
    if kind == "json" and isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as err:
            raise ValueError(f"is not valid JSON: {err}") from None
    if kind == "yaml" and isinstance(value, str):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError as err:
            raise ValueError(f"is not valid YAML: {err}") from None
    return value


@dataclass
class Answers:
    """The answers a template renders with."""

    #: Every value, hidden ones (``when`` false) included, in question order.
    values: dict[str, Any]
    #: What goes into the answers file: not hidden, not secret.
    remembered: dict[str, Any]
    #: The answers as given (copier's ``_copier_conf.data``).
    given: dict[str, Any] = field(default_factory=dict)
    #: Where the template came from (``_src_path``, ``_commit``, the ref).
    origin: Origin | None = None
    #: The questions whose ``when`` is false (not remembered).
    hidden: frozenset[str] = frozenset()
    #: An update's last answers (the answers file's), those still in force: copier's
    #: ``answers.last``, which the context sees beneath the given ones.
    last: dict[str, Any] = field(default_factory=dict)
    #: Given answers to questions the template does not ask: as in copier, in the context (and
    #: ``_copier_conf.data``), not in the answers file; see :func:`unasked_warning`.
    unasked: tuple[str, ...] = ()


def unasked_warning(template: Template, answers: Answers) -> str:
    """A warning naming the answers the template does not ask (a misspelt name goes unseen
    otherwise, as in copier) and the questions it does; empty when there are none."""
    if not answers.unasked:
        return ""
    asked = ", ".join(template.questions) or "nothing"
    return (
        f"answers to questions the template does not ask: {', '.join(answers.unasked)}"
        f" (it asks: {asked}); they are in the render context, as copier puts them, and not"
        " in the answers file"
    )


def check_name(rule: str, value: Any) -> str:  # noqa: PLR0911 - one return per rule broken
    """An error message when ``value`` breaks the naming ``rule``, else ''."""
    text = str(value)
    if rule == "python-package":
        if not text.isidentifier() or not text.isascii():
            return (
                f"{text!r} is not a valid Python package name: use letters, digits and _,"
                " not starting with a digit"
            )
        if keyword.iskeyword(text) or keyword.issoftkeyword(text):
            return f"{text!r} is a Python keyword"
        if text != text.lower():
            return f"{text!r} should be lowercase (PEP 8 package names)"
        if text in sys.stdlib_module_names:
            return f"{text!r} would shadow Python's standard module of that name"
        return ""
    if rule == "python-distribution":
        if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", text):
            return (
                f"{text!r} is not a valid Python project name: letters, digits, '.', '_' and '-',"
                " starting and ending with a letter or digit"
            )
        return ""
    raise ValueError(f"unknown name rule {rule!r}; known: {', '.join(NAME_RULES)}")


def _choices(template: Template, q: Question, context: Mapping[str, Any]) -> list[tuple[Any, str]]:
    """Each choice's value (rendered, cast to the question's type) and, when its own
    ``validator`` renders to a message, that message: copier offers such a choice disabled."""
    pairs = q.choices
    if q.choices_template:
        rendered = render_string(template, q.choices_template, context, f"{q.where} (choices)")
        try:
            pairs = parse_choices(yaml.safe_load(rendered), f"{q.where} (choices)")
        except yaml.YAMLError as err:
            raise TemplateError(
                q.where, f"`choices` of {q.name!r} render to bad YAML: {err}"
            ) from err
    assert pairs is not None  # noqa: S101 - callers check
    out = []
    for _label, raw in pairs:
        disabled = ""
        value = raw
        if isinstance(raw, Mapping):
            if "value" not in raw:
                raise TemplateError(q.where, f"a choice of {q.name!r} is a mapping without `value`")
            validator = raw.get("validator", "")
            if not isinstance(validator, str):
                raise TemplateError(
                    q.where, f"the `validator` of a choice of {q.name!r} must be text"
                )
            if validator:
                disabled = render_string(
                    template, validator, context, f"{q.where} (choice validator)"
                ).strip()
            value = raw["value"]
        if isinstance(value, str):
            value = render_string(template, value, context, q.where)
        try:
            cast = _cast(q, value)
        except ValueError as err:
            raise TemplateError(q.where, f"choice {value!r} of {q.name!r} {err}") from err
        out.append((cast, disabled))
    return out


def _one_choice(q: Question, answer: Any, choices: list[tuple[Any, str]]) -> Any:
    """copier's rule: the answer must be a choice, and not one its validator disables."""
    for value, disabled in choices:
        if answer == value:
            if disabled:
                raise ValueError(f"{answer!r} cannot be chosen: {disabled}")
            return answer
    allowed = [v for v, disabled in choices if not disabled]
    raise ValueError(f"{answer!r} is not one of the choices {allowed!r}")


def _parse(template: Template, q: Question, value: Any, context: Mapping[str, Any]) -> Any:
    if q.multiselect:
        items = _yaml_list(value) if isinstance(value, str) else value
        if not isinstance(items, list):
            raise ValueError(f"must be a list (got {value!r})")
        cast = [_cast(q, v) for v in items]
        if q.choices is None and not q.choices_template:
            return cast
        choices = _choices(template, q, context)
        for item in cast:
            _one_choice(q, item, choices)
        return [v for v, _ in choices if v in cast]
    cast = _cast(q, value)
    if q.choices is not None or q.choices_template:
        _one_choice(q, cast, _choices(template, q, context))
    return cast


def _yaml_list(text: str) -> list[str]:
    """copier's ``parse_yaml_list`` for a multiselect answer given as text: only the outer list
    is parsed, each item kept as the text it is written as (unquoted), for the question's type
    to cast: ``[3.10, 3.11]`` is ``["3.10", "3.11"]``, never 3.1. ValueError when it is not a
    YAML list."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        raise ValueError(f"is not a valid YAML list: {err}") from None
    if not isinstance(node, yaml.SequenceNode):
        raise ValueError(f"must be a list (got {text!r})")
    items = []
    for item in node.value:
        raw = text[item.start_mark.index : item.end_mark.index].strip()
        quoted = any(raw.startswith(q) and raw.endswith(q) for q in ('"', "'"))
        if isinstance(item, yaml.ScalarNode) and item.tag == "tag:yaml.org,2002:str" and quoted:
            raw = raw[1:-1]
        items.append(raw)
    return items


def _conf(
    template: Template, dst: str, origin: Origin | None, given: Mapping[str, Any]
) -> dict[str, Any]:
    """copier's ``_copier_conf`` for a copy run without questions (``defaults``): the same keys,
    the same types (paths as paths)."""
    return {
        "src_path": PurePath(template.root.resolve()),
        "dst_path": PurePath(dst),
        "answers_file": PurePath(template.answers_file),
        "vcs_ref": origin.vcs_ref if origin else None,
        "vcs_ref_hash": origin.commit_hash if origin else None,
        "data": dict(given),
        "settings": {"defaults": {}, "trust": set()},
        "exclude": (),
        "use_prereleases": False,
        "skip_if_exists": (),
        "cleanup_on_error": True,
        "defaults": True,
        "user_defaults": {},
        "overwrite": False,
        "pretend": False,
        "quiet": False,
        "conflict": "inline",
        "context_lines": 3,
        "unsafe": template.trusted,
        "skip_answered": False,
        "skip_tasks": False,
        "sep": os.sep,
        "os": "linux" if sys.platform.startswith("linux") else sys.platform,
    }


def _metadata(template: Template, origin: Origin | None) -> dict[str, Any]:
    """What the answers file records before the answers: ``_commit`` (a git template's), then
    ``_src_path``, in copier's order."""
    out: dict[str, Any] = {}
    if origin is not None and origin.commit:
        out["_commit"] = origin.commit
    out["_src_path"] = origin.src_path if origin is not None else str(template.root)
    return out


def _now() -> datetime.datetime:
    return datetime.datetime.now(tz=datetime.UTC)


def _make_secret() -> str:
    return hashlib.sha512(os.urandom(48)).hexdigest()


#: Helpers copier still offers every template (deprecated there, kept for older templates).
DEFAULT_DATA: dict[str, Any] = {"now": _now, "make_secret": _make_secret}


def copier_context(
    template: Template,
    dst: str,
    *,
    origin: Origin | None = None,
    given: Mapping[str, Any] | None = None,
    values: Mapping[str, Any] | None = None,
    hidden: frozenset[str] = frozenset(),
    phase: str = "render",
    last: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """copier's render context. First its answers combined from their sources, in copier's
    order and priority (``now`` and ``make_secret``, ``_external_data``, the origin's
    ``_src_path`` and ``_commit``, the answers as given, the settled ones); then
    ``_copier_answers`` (what the answers file records), ``_copier_conf``, ``_folder_name``,
    ``_copier_python`` and ``_copier_phase``. ``dst`` is the destination as given
    (``_copier_conf.dst_path``); ``hidden`` are the questions whose ``when`` is false; ``last``
    an update's last answers (beneath the origin, as copier chains them)."""
    given = given or {}
    metadata = _metadata(template, origin)
    combined = {
        **DEFAULT_DATA,
        "_external_data": {},
        **(last or {}),
        **metadata,
        **given,
        **(values or {}),
    }
    return {
        **combined,
        "_copier_answers": {**metadata, **_remembered(template, combined, hidden)},
        "_copier_conf": _conf(template, dst, origin, given),
        "_folder_name": Path(dst or ".").absolute().name,
        "_copier_python": sys.executable,
        "_copier_phase": phase,
    }


def _remembered(
    template: Template, combined: Mapping[str, Any], hidden: frozenset[str]
) -> dict[str, Any]:
    """copier's answers to remember: the questions' answers, not hidden, not secret, in the
    combined answers' order (those given first, then the others as settled); an answer that is
    not JSON at its top (a YAML date, say) is left out, as copier leaves it out."""
    return {
        k: v
        for k, v in combined.items()
        if k in template.questions
        and k not in hidden
        and not template.questions[k].secret
        and isinstance(v, _JSON_TYPES)
    }


#: copier's ``JSONSerializable``: what the answers file records (checked at the top only).
_JSON_TYPES = (dict, list, str, int, float, bool, type(None))


@_in_renderer
def resolve(
    template: Template,
    given: Mapping[str, Any],
    *,
    names: Mapping[str, str] | None = None,
    dst_name: str = "",
    origin: Origin | None = None,
    last: Mapping[str, Any] | None = None,
) -> Answers:
    """The answers to render with, or :class:`AnswersError` listing every problem.

    Follows copier: questions are settled in manifest order, each seeing the earlier answers;
    a question whose ``when`` is false is not stored in the answers file (a given answer is
    still used when it has a default, a default otherwise); a default may be Jinja; a validator
    renders to an error message, empty when the answer is fine (a given answer is always checked,
    a default only when asked and not secret, as copier does). ``names`` adds the bootstrapper's
    own naming rules. ``dst_name`` is the destination as given (``_copier_conf.dst_path``).

    ``last`` are an update's last answers (the answers file's): as in ``copier update
    --defaults``, each stands in for the default of its question unless an answer is given,
    and is dropped when it no longer parses or validates, or when its question is hidden.
    """
    problems: list[tuple[str, str]] = []
    kept = dict(last or {})
    values: dict[str, Any] = {}
    hidden: set[str] = set()
    for name, question in template.questions.items():
        context = copier_context(
            template,
            dst_name,
            origin=origin,
            given=given,
            values=values,
            hidden=frozenset(hidden),
            phase="prompt",
            last=kept,
        )
        try:
            q = _typed(template, question, context)
            _forget_stale(template, q, kept, context)
            settled = _settle(template, q, given, context, (names or {}).get(name), last=kept)
        except ValueError as err:
            problems.append((name, str(err)))
            continue
        except TemplateError as err:
            if not problems:
                raise
            # Most likely a default that needs an answer missing above: say so with the rest.
            problems.append((name, f"cannot be worked out (see the problems above): {err}"))
            continue
        if settled is None:
            hidden.add(name)
            continue
        value, when = settled
        values[name] = value
        if not when:
            hidden.add(name)
    if problems:
        # An answer to no question is no error (as in copier), but beside a refused one it is
        # likely the same mistake's other half (a misspelt name): named with them.
        asked = ", ".join(template.questions) or "nothing"
        problems += [
            (k, f"the template asks no such question (it asks: {asked})")
            for k in given
            if k not in template.questions
        ]
        raise AnswersError(problems)
    combined = {**kept, **dict(given), **values}
    return Answers(
        values=values,
        remembered=_remembered(template, combined, frozenset(hidden)),
        given=dict(given),
        origin=origin,
        hidden=frozenset(hidden),
        last=kept,
        unasked=tuple(k for k in given if k not in template.questions),
    )


def _typed(template: Template, q: Question, context: Mapping[str, Any]) -> Question:
    """The question with its templated ``type`` rendered with the answers so far, as copier
    renders it; a type it does not know is an error naming the question."""
    if not q.type_template:
        return q
    rendered = render_string(template, q.type_template, context, f"{q.where} (type)")
    if rendered not in QUESTION_TYPES:
        raise TemplateError(
            q.where,
            f"the `type` of {q.name!r} renders to {rendered!r};"
            f" allowed: {', '.join(QUESTION_TYPES)}",
        )
    return replace(q, type=rendered, type_template="")


def _settle(
    template: Template,
    q: Question,
    given: Mapping[str, Any],
    context: Mapping[str, Any],
    rule: str | None,
    *,
    last: dict[str, Any],
) -> tuple[Any, bool] | None:
    """One question's value and whether it is shown (``when``), None when copier leaves it
    unanswered; ValueError saying what is wrong with the answer. copier's order: a given answer,
    else a last one (``last``, an update's: dropped when the question is hidden), else the
    default. A question without a default (or whose default renders ``{{ UNSET }}``) is
    required unless it is hidden or not asked (``ask`` false): then it stays undefined."""
    where, name = q.where, q.name
    when = _condition(template, q.when, context, f"{where} (when)")
    if not when:
        last.pop(name, None)
    ask = _condition(template, q.ask, context, f"{where} (ask)")
    if name in given:
        raw = given[name]
    elif name in last:
        raw = last[name]
    else:
        raw = _default(template, q, context)
        if raw is MISSING and (not when or not ask):
            return None  # copier leaves it out, undefined in the context
        if raw is MISSING:
            help_text = f" ({q.help.strip()})" if q.help.strip() else ""
            raise ValueError(f"required: the template has no default{help_text}")
    value = _parse(template, q, raw, context)
    if q.validator and (name in given or (when and not q.secret)):
        message = _validation(template, q, value, context)
        if message:
            raise ValueError(message)
    if rule and when and q.type in {"str", "path"} and not q.multiselect:
        # A naming rule speaks of text (the answers schema names it on text questions only).
        message = check_name(rule, value)
        if message:
            raise ValueError(message)
    return value, bool(when)


def _forget_stale(
    template: Template, q: Question, last: dict[str, Any], context: Mapping[str, Any]
) -> None:
    """copier drops a last answer that no longer parses or validates: the default is taken."""
    if q.name not in last:
        return
    try:
        previous = _parse(template, q, last[q.name], context)
        message = _validation(template, q, previous, context) if q.validator else ""
    except ValueError:
        message = "not valid"
    if message:
        del last[q.name]


def _validation(template: Template, q: Question, value: Any, context: Mapping[str, Any]) -> str:
    """What the question's validator says of ``value`` (empty: it is fine)."""
    try:
        message = render_string(
            template, q.validator, {**context, q.name: value}, f"{q.where} (validator)"
        )
    except TemplateError as err:
        message = err.message  # copier: a validator that fails to render is its message
    return message.strip()


def _condition(
    template: Template, value: str | bool, context: Mapping[str, Any], where: str
) -> bool:
    """A question's ``when`` or ``ask``: a boolean, or Jinja read as copier reads it."""
    if isinstance(value, str):
        return _to_bool(render_string(template, value, context, where))
    return bool(value)


class _UnsetError(jinja2.UndefinedError):
    """A default rendered copier's ``{{ UNSET }}``: the question has no default after all."""


#: copier's ``UNSET``, given to a default's Jinja only: using it makes the default MISSING.
_UNSET = jinja2.StrictUndefined("UNSET", exc=_UnsetError)


def _default(template: Template, q: Question, context: Mapping[str, Any]) -> Any:
    """The question's default rendered with the answers so far; MISSING when it has none or it
    renders ``{{ UNSET }}`` (copier's way to say "no default here", such as a URL only some
    choices have). A list's items are rendered without ``UNSET``, as copier renders them."""
    if q.default is MISSING:
        return MISSING
    where = f"{q.where} (default)"
    if not isinstance(q.default, str):
        return _render_default(template, q.default, context, where)
    try:
        return render_string(template, q.default, {**context, "UNSET": _UNSET}, where)
    except TemplateError as err:
        if isinstance(err.__cause__, _UnsetError):
            return MISSING
        raise


def _render_default(
    template: Template, default: Any, context: Mapping[str, Any], where: str
) -> Any:
    if isinstance(default, str):
        return render_string(template, default, context, where)
    if isinstance(default, list):
        return [_render_default(template, v, context, where) for v in default]
    return default


# --- files --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedFile:
    path: str
    content: bytes
    mode: int
    #: A symbolic link's target (``_preserve_symlinks``): the entry is that link, not a file.
    link: str | None = None


@dataclass
class Rendered:
    """A whole project in memory: folders (sorted parents first) and files."""

    dirs: list[str] = field(default_factory=list)
    files: list[RenderedFile] = field(default_factory=list)
    #: Where the answers file is, as the template names it (empty: nowhere yet).
    answers_path: str = ""

    def write(self, root: Path) -> None:
        """Create it under ``root`` (which must exist), each file with its template's mode."""
        base = str(root)
        made: set[str] = set()
        for rel in self.dirs:
            os.makedirs(os.path.join(base, rel), exist_ok=True)
            made.add(rel)
        for f in self.files:
            parent = os.path.dirname(f.path)
            if parent and parent not in made:
                os.makedirs(os.path.join(base, parent), exist_ok=True)
                made.add(parent)
            if f.link is not None:
                os.symlink(f.link, os.path.join(base, f.path))
                continue
            mode = stat.S_IMODE(f.mode)
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
            fd = os.open(os.path.join(base, f.path), flags, mode)
            try:
                view = memoryview(f.content)
                while view:
                    view = view[os.write(fd, view) :]
                os.fchmod(fd, mode)  # exactly the template's mode, whatever the umask
            finally:
                os.close(fd)


def _scantree(
    root: str, rel: tuple[str, ...], follow_symlinks: bool
) -> Iterator[tuple[os.DirEntry[str], tuple[str, ...], frozenset[str]]]:
    """Each entry with its path parts below the content root and its folder's names, in the
    order copier walks a template (os.scandir, depth first)."""
    try:
        with os.scandir(root) as it:
            entries = list(it)
    except OSError as err:
        where = "/".join(rel) or "."
        raise TemplateError(where, f"this folder cannot be read: {err.strerror or err}") from err
    names = frozenset(e.name for e in entries)
    for entry in entries:
        parts = (*rel, entry.name)
        yield entry, parts, names
        if entry.is_dir(follow_symlinks=follow_symlinks):
            yield from _scantree(entry.path, parts, follow_symlinks)


def _matcher(
    template: Template, patterns: tuple[str, ...], context: Mapping[str, Any]
) -> Callable[[str], bool]:
    lines: list[str] = []
    where = f"{template.manifest.name if template.manifest else 'copier.yml'} (_exclude)"
    for pattern in patterns:
        rendered = render_string(template, str(pattern), context, where)
        lines.extend(re.split(r"\r\n|\r|\n", rendered))
    return _path_matcher(lines)


def skipper(template: Template, context: Mapping[str, Any]) -> Callable[[str], bool]:
    """copier's ``match_skip``: the template's ``_skip_if_exists``, each pattern rendered."""
    if not template.skip_if_exists:
        return lambda _path: False
    return _path_matcher(
        [render_string(template, p, context, "_skip_if_exists") for p in template.skip_if_exists]
    )


def _path_matcher(lines: list[str]) -> Callable[[str], bool]:
    """copier's ``_path_matcher``: gitignore-style patterns, normalized as copier normalizes
    them."""
    kind = "gitignore" if int(pathspec.__version__.split(".")[0]) >= 1 else "gitwildmatch"
    spec = pathspec.PathSpec.from_lines(kind, (unicodedata.normalize("NFD", p) for p in lines))
    return spec.match_file


def _content_root(template: Template, context: Mapping[str, Any]) -> Path:
    """``_subdirectory``, rendered as copier renders it, and inside the template."""
    if not template.subdirectory:
        return template.root
    rendered = render_string(template, template.subdirectory, context, "_subdirectory").strip("/")
    root = template.root.resolve()
    path = (root / rendered).resolve()
    if not path.is_relative_to(root):
        raise TemplateError("_subdirectory", f"{rendered!r} is outside the template folder")
    if not path.is_dir():
        raise TemplateError("_subdirectory", f"{rendered!r} is not a folder of the template")
    return template.root / rendered if rendered else template.root


def _render_part(
    template: Template, part: str, context: Mapping[str, Any], where: str
) -> list[tuple[str, dict[str, Any]]]:
    """A path part rendered, with the variable a ``{% yield %}`` in it binds (one rendering per
    value of its iterable, as copier makes them), else once with nothing bound."""
    token = _YIELDED.set(None)
    try:
        rendered = render_string(template, part, context, where)
        yielded = _YIELDED.get()
        if yielded is None:
            return [(rendered, {})]
        name, iterable = yielded
        out = []
        for value in iterable or ():
            extra = {name: value}
            _YIELDED.set(None)
            out.append((render_string(template, part, {**context, **extra}, where), extra))
        return out
    finally:
        _YIELDED.reset(token)


def _without_suffix(name: str) -> str:
    """A rendered file's name as copier makes it: its last extension removed
    (``Path.with_suffix("")``), whatever the suffix's length: with ``_templates_suffix: j2``,
    ``README.md.j2`` is ``README.md``; a file named just ``.jinja`` keeps its name."""
    return PurePosixPath(name).with_suffix("").name


def _dst_paths(
    template: Template,
    sub: str,
    rel_parts: tuple[str, ...],
    context: Mapping[str, Any],
    answers_path: str,
) -> list[tuple[str, dict[str, Any]]]:
    """Where a template entry goes in the project, with what a ``{% yield %}`` in its path binds
    (copier's ``_render_parts``): none when a part renders empty (copier leaves it out); a part
    that renders to the answers file's path is that file, wherever it is."""
    suffix = template.suffix
    name = rel_parts[-1]
    parts = rel_parts
    if suffix and name.endswith(suffix):
        parts = (*rel_parts[:-1], _without_suffix(name))
    markers = jinja_markers(template.envops)
    out: list[tuple[str, dict[str, Any]]] = []

    def walk(i: int, done: tuple[str, ...], extra: dict[str, Any]) -> None:
        if i == len(parts):
            path = PurePosixPath(*done)
            if path.is_absolute() or ".." in path.parts:
                where = "/".join((sub, *rel_parts)).lstrip("/")
                raise TemplateError(where, f"renders to {str(path)!r}, outside the project")
            out.append((str(path), extra))
            return
        part = parts[i]
        if not is_templated(part, markers):  # renders to itself: spare Jinja the work
            rendered: list[tuple[str, dict[str, Any]]] = [(part, {})]
        else:
            where = "/".join((sub, *rel_parts[: i + 1])).lstrip("/")
            rendered = _render_part(template, part, {**context, **extra}, where)
        for text, bound in rendered:
            if not text:
                continue
            if text == answers_path:
                out.append((answers_path, {**extra, **bound}))
                continue
            walk(i + 1, (*done, text), {**extra, **bound})

    walk(0, (), {})
    return out


def render_context(
    template: Template, answers: Answers, dst: str, *, origin: Origin | None = None
) -> dict[str, Any]:
    """What a template's files (and its messages) render with: :func:`copier_context` with the
    settled answers."""
    return copier_context(
        template,
        dst,
        origin=origin or answers.origin,
        given=answers.given,
        values=answers.values,
        hidden=answers.hidden,
        last=answers.last,
    )


@_in_renderer
def render(  # noqa: PLR0912 - copier's walk, one rule per branch
    template: Template,
    answers: Answers,
    dst_name: str,
    *,
    src_path: str | None = None,
    commit: str | None = None,
    origin: Origin | None = None,
    operation: str = "copy",
    extra_exclude: tuple[str, ...] = (),
) -> Rendered:
    """Every folder and file of the project, or :class:`TemplateError` (file:line) — nothing
    half-made either way. ``dst_name`` is the destination as given (``_copier_conf.dst_path``).
    The answers file records ``origin`` (``_commit``, ``_src_path``); ``src_path`` and
    ``commit`` are a shorter way to give it. ``operation`` is copier's ``_copier_operation``
    (``copy`` or ``update``) as ``_exclude`` sees it; ``extra_exclude`` are more patterns to
    leave out (an update leaves out of the old version what the new one excludes)."""
    if origin is None and (src_path is not None or commit is not None):
        origin = Origin(src_path if src_path is not None else str(template.root), commit)
    context = render_context(template, answers, dst_name, origin=origin)
    env = environment(template)
    # copier renders the answers file's path with an empty `_copier_conf.answers_file`.
    conf = {**context["_copier_conf"], "answers_file": PurePath("")}
    answers_path = render_string(
        template, template.answers_file, {**context, "_copier_conf": conf}, "_answers_file"
    )
    context["_copier_conf"]["answers_file"] = PurePath(answers_path)
    # `_copier_operation` is given to `_exclude` only, as copier gives it.
    excluded = _matcher(
        template, (*template.exclude, *extra_exclude), {**context, "_copier_operation": operation}
    )
    root = _content_root(template, context)
    # The content root's path in the template, as rendered (Jinja's loader names files by it).
    sub = "" if root == template.root else root.relative_to(template.root).as_posix()
    template_root = template.root.resolve()
    suffix = template.suffix
    skipped = skipper(template, context)
    out = Rendered(answers_path=answers_path)
    index: dict[str, int] = {}
    follow = not template.preserve_symlinks
    for entry, rel_parts, siblings in _scantree(str(root), (), follow):
        name = entry.name
        is_template = name.endswith(suffix)
        if suffix and not is_template and name + suffix in siblings:
            continue  # a templated sibling wins
        where = "/".join((sub, *rel_parts)).lstrip("/")
        link = _link(entry, template_root, where, follow)
        for dst, extra in _dst_paths(template, sub, rel_parts, context, answers_path):
            if excluded(dst):
                continue
            # copier's other sibling rule: a plain entry is left out when its rendered path plus
            # the suffix names a file at the template's root (the root, not the subdirectory).
            twin = template.root / f"{dst}{suffix}"
            if suffix and not is_template and dst != answers_path and twin.exists():
                continue
            if link is None and _is_dir(entry, where, follow):
                if dst not in index:
                    index[dst] = -1
                    out.dirs.append(dst)
                continue
            if link is not None:
                target = link
                if is_template and suffix:
                    target = render_string(template, link, {**context, **extra}, where)
                rendered = RenderedFile(dst, b"", 0o777, link=target)
            else:
                content = _content(
                    template,
                    env,
                    src=Path(entry.path),
                    where=where,
                    is_template=is_template,
                    context={**context, **extra},
                )
                rendered = RenderedFile(dst, content, _mode(entry, where))
            # Two template files rendering to one path: copier writes them in turn, so the
            # last one wins, unless the path is one to skip if it exists (or the two are alike).
            if index.get(dst, -1) >= 0:
                if not _kept_first(out.files[index[dst]], rendered, skipped):
                    out.files[index[dst]] = rendered
            else:
                index[dst] = len(out.files)
                out.files.append(rendered)
    return out


def _kept_first(first: RenderedFile, later: RenderedFile, skipped: Callable[[str], bool]) -> bool:
    """Whether the first of two files rendering to one path stays, as in copier, which finds
    the later one in conflict with the first already written: copier leaves the first when the
    later is alike (the same link target, or the same bytes and executable bits) and when the
    path matches ``_skip_if_exists``; otherwise (with ``--overwrite``) it writes the later."""
    if first.link is not None or later.link is not None:
        alike = first.link == later.link
    else:
        alike = first.content == later.content and first.mode & 0o111 == later.mode & 0o111
    return alike or skipped(later.path)


def _link(entry: os.DirEntry[str], template_root: Path, where: str, follow: bool) -> str | None:
    """A symbolic link kept as a link (``_preserve_symlinks``): its target; else None. A link
    that is followed must point inside the template (copier refuses one that leaves it)."""
    if not entry.is_symlink():
        return None
    if not follow:
        return os.readlink(entry.path)
    try:
        target = Path(entry.path).resolve()
    except (OSError, RuntimeError) as err:  # RuntimeError: a loop of links (Python < 3.13)
        raise TemplateError(where, f"a symbolic link that cannot be followed: {err}") from err
    if not target.is_relative_to(template_root):
        raise TemplateError(
            where, f"a symbolic link to {target}, outside the template folder (copier refuses it)"
        )
    if not target.exists():
        raise TemplateError(
            where, f"a symbolic link to {target}, which does not exist (a dangling link)"
        )
    return None


def _is_dir(entry: os.DirEntry[str], where: str, follow: bool) -> bool:
    try:
        return entry.is_dir(follow_symlinks=follow)
    except OSError as err:
        raise TemplateError(where, f"cannot be read: {err.strerror or err}") from err


def _mode(entry: os.DirEntry[str], where: str) -> int:
    try:
        return entry.stat(follow_symlinks=True).st_mode
    except OSError as err:
        raise TemplateError(where, f"cannot be read: {err.strerror or err}") from err


def _content(
    template: Template,
    env: SandboxedEnvironment,
    *,
    src: Path,
    where: str,
    is_template: bool,
    context: Mapping[str, Any],
) -> bytes:
    """A file's bytes: rendered when it carries the suffix, else copied as they are."""
    try:
        if not is_template:
            return src.read_bytes()
        # Jinja's loader names files by their path from the template's root, with "/".
        token = _YIELDED.set(None)
        try:
            text = env.get_template(where).render(**context)
            if _YIELDED.get() is not None:
                raise TemplateError(
                    where, "a {% yield %} tag belongs in a path name, not in a file"
                )
        finally:
            _YIELDED.reset(token)
        return text.encode()
    except UnicodeDecodeError as err:
        if not template.suffix:
            return src.read_bytes()  # copier: with no suffix, a file that is not text is copied
        raise TemplateError(
            where, f"a {template.suffix} file must be UTF-8 text, not binary ({err.reason})"
        ) from err
    except IsADirectoryError as err:
        raise TemplateError(
            where, f"reads {err.filename or 'a folder'}, a folder where a file was expected"
        ) from err
    except OSError as err:
        raise TemplateError(where, f"cannot be read: {err.strerror or err}") from err
    except jinja2.TemplateSyntaxError as err:
        raise TemplateError(_where(template, err, where), err.message or str(err)) from err
    except TemplateError:
        raise
    except Exception as err:  # Jinja's errors, and the template's own code failing
        line = _runtime_line(err, template)
        raise TemplateError(
            f"{where}:{line}" if line else where, f"{type(err).__name__}: {err}"
        ) from err


def _runtime_line(err: Exception, template: Template) -> int | None:
    """The template line a render-time error came from (Jinja maps its frames to lines)."""
    tb = err.__traceback__
    line = None
    root = str(template.root.resolve())
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(root):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@_in_renderer
def variants(template: Template, fixed: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Answers for every distinct combination of the template's closed questions (choices and
    booleans), the others at their defaults and ``fixed`` applied; each combination once, however
    many hidden (``when`` false) answers it differs in. Required open questions must be in
    ``fixed``."""
    fixed = dict(fixed or {})
    axes: list[tuple[str, list[Any]]] = []
    for name, q in template.questions.items():
        if name in fixed or q.multiselect:
            continue
        if q.choices is not None:
            axes.append((name, [v["value"] if isinstance(v, Mapping) else v for _, v in q.choices]))
        elif q.type == "bool":
            axes.append((name, [False, True]))
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for combo in itertools.product(*(values for _, values in axes)):
        given = {**fixed, **dict(zip((n for n, _ in axes), combo, strict=True))}
        try:
            answers = resolve(template, given)
        except AnswersError:
            continue  # a combination the template's validators rule out
        key = json.dumps(answers.remembered, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append({k: v for k, v in given.items() if k in answers.remembered or k in fixed})
    return out


# --- tasks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedTask:
    """One of the template's ``_tasks`` or ``_migrations`` as it will run: rendered, its
    condition true."""

    #: The argument vector (a string task: ``/bin/sh -c COMMAND``, as copier's ``shell=True``).
    argv: tuple[str, ...]
    #: The command as the template wrote it, rendered (what the person is shown).
    shown: str
    #: The folder it runs in, relative to the project.
    cwd: str
    #: Its number among ``_tasks`` or ``_migrations`` (from 1).
    number: int
    #: The environment copier gives it beyond its own: its extra context, upper-cased.
    env: Mapping[str, str] = field(default_factory=dict)


@_in_renderer
def planned_tasks(
    template: Template, context: Mapping[str, Any], operation: str = "copy"
) -> list[PlannedTask]:
    """The ``_tasks`` that will run with this render context, in order (copier's semantics: the
    condition, each part of the command and the folder are Jinja, with ``_stage`` = ``task``
    and ``_copier_operation`` = ``copy`` or ``update``). A folder outside the project is
    refused. They see ``_copier_phase`` ``tasks``, as copier runs them."""
    extra = {"_stage": "task", "_copier_operation": operation}
    context = {**context, "_copier_phase": "tasks"}
    out = []
    for n, task in enumerate(template.tasks, 1):
        planned = _planned(template, context, extra, task, task.when, n, "_tasks")
        if planned is not None:
            out.append(planned)
    return out


@_in_renderer
def planned_migrations(
    template: Template,
    context: Mapping[str, Any],
    stage: str,
    versions: tuple[tuple[str, Version | None], tuple[str, Version | None]],
) -> list[PlannedTask]:
    """The ``_migrations`` that run at ``stage`` (``before`` or ``after``) of an update between
    ``versions`` (old and new: each a commit and its PEP 440 version), as copier 9 picks them:
    none unless both versions are releases; one with a ``version`` only when old < it <= new;
    its condition (by default ``_stage == "after"``) rendered with copier's extra context
    (``_stage``, ``_version_from``, ``_version_to``, ``_version_pep440_*``,
    ``_version_current``), which is also its environment, upper-cased; ``_copier_phase`` is
    ``migrate``, as copier runs them."""
    (old_commit, old), (new_commit, new) = versions
    if old is None or new is None:
        return []
    context = {**context, "_copier_phase": "migrate"}
    base = {
        "_stage": stage,
        "_version_from": old_commit,
        "_version_to": new_commit,
        "_version_pep440_from": old,
        "_version_pep440_to": new,
        "_copier_operation": "update",
    }
    out = []
    for n, m in enumerate(template.migrations, 1):
        extra = dict(base)
        if m.version is not None:
            try:
                current = Version(m.version)
            except InvalidVersion:
                raise TemplateError(
                    m.where, f"`_migrations`: version {m.version!r} is not a PEP 440 version"
                ) from None
            if not new >= current > old:
                continue
            extra |= {"_version_current": m.version, "_version_pep440_current": current}
        if m.stage is not None:
            when: str | bool = m.stage == stage
        elif m.when is None:
            when = stage == "after"
        else:
            when = m.when
        planned = _planned(template, context, extra, m, when, n, "_migrations")
        if planned is not None:
            out.append(planned)
    return out


def _planned(  # noqa: PLR0917 - each is one part of what is planned
    template: Template,
    context: Mapping[str, Any],
    extra: Mapping[str, Any],
    item: Task | Migration,
    when: str | bool,
    n: int,
    setting: str,
) -> PlannedTask | None:
    """One task or migration rendered with ``extra`` over the render context, or ``None`` when
    its condition is false."""
    scope = {**context, **extra}
    where = item.where or f"{setting} #{n}"
    if isinstance(when, str):
        when = _to_bool(render_string(template, when, scope, f"{where} when"))
    if not when:
        return None
    if isinstance(item.command, str):
        shown = render_string(template, item.command, scope, where)
        argv: tuple[str, ...] = ("/bin/sh", "-c", shown)
    else:
        argv = tuple(render_string(template, part, scope, where) for part in item.command)
        shown = " ".join(argv)
    cwd = render_string(template, item.working_directory, scope, f"{where} working_directory")
    if Path(cwd).is_absolute() or ".." in Path(cwd).parts:
        raise TemplateError(where, f"`working_directory` {cwd!r} must stay inside the project")
    env = {k[1:].upper(): str(v) for k, v in extra.items()}
    return PlannedTask(argv, shown, cwd or ".", n, env)


def tasks_description(
    template_name: str, tasks: list[PlannedTask], where: str = "the new project"
) -> str:
    """What a person allows when they allow these tasks, completing "asks to run ...": every
    command, exactly as it will run, and where."""
    noun = "command" if len(tasks) == 1 else f"{len(tasks)} commands"
    return f"the {template_name} template's {noun} in {where}: {_commands(tasks)}"


def migrations_description(
    template_name: str, before: list[PlannedTask], after: list[PlannedTask], span: str
) -> str:
    """What a person allows when they allow an update's migrations (``span``: "v1 -> v2"),
    completing "asks to run ...": every command, exactly as it will run, and when."""
    stages = [
        f"{when} the update: {_commands(tasks)}"
        for when, tasks in (("before", before), ("after", after))
        if tasks
    ]
    n = len(before) + len(after)
    noun = "migration" if n == 1 else f"{n} migrations"
    return (
        f"the {template_name} template's {noun} for {span}, on a scratch copy of the project"
        f" (what they change is shown before anything is written): {'; '.join(stages)}"
    )


def _commands(tasks: list[PlannedTask]) -> str:
    return "; ".join(f"`{t.shown}`" + (f" in {t.cwd}" if t.cwd != "." else "") for t in tasks)


def extensions_description(template: Template, name: str = "") -> str:
    """What a person allows when they allow a template's extensions, completing "asks to run
    ...": each extension, and a digest of their code (changed code is asked about again).
    ``name`` replaces the template's folder name ("the <name> template")."""
    noun = "extension" if len(template.extensions) == 1 else "extensions"
    return (
        f"the {name or template.name} template's Jinja {noun} {', '.join(template.extensions)}"
        f" (code sha256 {template.code_digest()[:16]}) while it renders"
    )
