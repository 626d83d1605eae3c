"""Where HyperAgent differed from copier 9.19 on real templates (salt-extension-copier,
copier-copier, copier's own demos, copier-base-template, ...) and in copier's documented
semantics, each rendered by both (copier run for real) on a small template written here."""

from __future__ import annotations

import os
from pathlib import Path

import copier
import pytest
import yaml
from test_copier_gaps import ANSWERS, both, make, tagged, text
from test_thirdparty_parity import git, tree

from hyperagent_bootstrapper import cli
from hyperagent_bootstrapper.agent import agent
from hyperagent_sdk.testing import run_handler

# --- 1. `_templates_suffix` without a leading dot ------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "files", "expected"),
    [
        (
            "j2",
            {
                "README.md.j2": "# {{ name }}\n",
                "{{ _copier_conf.answers_file }}.j2": ANSWERS,
                "notes.txtj2": "{{ name }}\n",  # its last extension is `.txtj2`: removed whole
                "Makefilej2": "{{ name }}\n",  # no extension: rendered, its name kept
            },
            ["README.md", ".copier-answers.yml", "notes", "Makefilej2"],
        ),
        (
            ".jinja",
            {".jinja": "hi {{ name }}\n", "{{ _copier_conf.answers_file }}.jinja": ANSWERS},
            [".jinja", ".copier-answers.yml"],
        ),
    ],
    ids=["no-dot", "a-file-named-as-the-suffix"],
)
def test_the_templates_suffix_is_removed_as_copier_removes_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
    files: dict[str, str],
    expected: list[str],
) -> None:
    # copier removes a rendered file's last extension (`Path.with_suffix("")`), not the
    # suffix's length: with `j2`, `README.md.j2` is `README.md`, not `README.md.`.
    manifest = f"name: shop\n_templates_suffix: {suffix}\n"
    src = make(tmp_path / "t", {"copier.yml": manifest, **files})
    theirs, ours = both(src, tmp_path, monkeypatch)
    assert ours == theirs
    assert sorted(ours) == sorted(expected)
    assert yaml.safe_load(text(ours, ".copier-answers.yml"))["name"] == "shop"


# --- 2. custom Jinja delimiters in paths ---------------------------------------------------------

BRACKETS = (
    "_envops:\n"
    "  block_start_string: '[%'\n  block_end_string: '%]'\n"
    "  variable_start_string: '[['\n  variable_end_string: ']]'\n"
    "  comment_start_string: '[#'\n  comment_end_string: '#]'\n"
)
ANGLES = (
    "_envops:\n"
    "  block_start_string: '<%'\n  block_end_string: '%>'\n"
    "  variable_start_string: '<<'\n  variable_end_string: '>>'\n"
)


@pytest.mark.parametrize("with_docs", ["true", "false"])
@pytest.mark.parametrize(("envops", "brackets"), [(BRACKETS, "[]"), (ANGLES, "<>")])
def test_custom_delimiters_render_names_the_answers_file_and_the_subdirectory_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, envops: str, brackets: str, with_docs: str
) -> None:
    open_, close = brackets
    var = lambda s: f"{open_ * 2} {s} {close * 2}"  # noqa: E731 - reads as the template does
    block = lambda s: f"{open_}% {s} %{close}"  # noqa: E731
    manifest = (
        envops
        + f"_subdirectory: '{var('flavour')}'\n"
        + "flavour: tpl\nname: world\nwith_docs: {type: bool, default: false}\n"
    )
    src = make(
        tmp_path / "t",
        {
            "copier.yml": manifest,
            f"tpl/{var('name')}.txt": "x\n",
            f"tpl/{block('if with_docs')}docs{block('endif')}/index.md": "doc\n",
            f"tpl/{var('_copier_conf.answers_file')}.jinja": var("_copier_answers|to_nice_yaml"),
            "tpl/{{ name }}.txt": "braces are not Jinja here\n",
        },
    )
    theirs, ours = both(src, tmp_path, monkeypatch, {"with_docs": with_docs})
    assert ours == theirs
    assert "world.txt" in ours
    assert "{{ name }}.txt" in ours
    assert ("docs/index.md" in ours) == (with_docs == "true")
    assert yaml.safe_load(text(ours, ".copier-answers.yml"))["name"] == "world"


# --- 3. a folder without copier.yml --------------------------------------------------------------


def test_a_folder_without_a_manifest_renders_with_no_questions_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make(
        tmp_path / "t",
        {
            "plain.txt": "plain\n",
            "readme.txt.jinja": 'hello {{ name | default("x") }} {{ _folder_name }}\n',
            "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
            "__pycache__/x.pyc": "",  # the default `_exclude` still applies
        },
    )
    theirs, ours = both(src, tmp_path, monkeypatch)
    assert ours == theirs
    assert sorted(ours) == [".copier-answers.yml", "plain.txt", "readme.txt"]
    assert text(ours, "readme.txt") == "hello x proj\n"


@pytest.mark.parametrize("name", ["copier.YML", "copier.Yaml", "copier.old.yml"])
def test_a_manifest_is_found_by_copiers_own_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # copier globs `copier.*` and takes a file whose last extension is .yml or .yaml in any case
    # (its default `_exclude` names only copier.yml and copier.yaml: the others are copied).
    src = make(
        tmp_path / "t",
        {
            name: "name: {default: x}\n",
            "out.txt.jinja": "n={{ name }}\n",
            "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
        },
    )
    theirs, ours = both(src, tmp_path, monkeypatch, {"name": "given"})
    assert ours == theirs
    assert text(ours, "out.txt") == "n=given\n"


def test_two_manifests_are_refused_by_both_naming_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make(tmp_path / "t", {"copier.yml": "a: 1\n", "copier.YAML": "b: 2\n"})
    with pytest.raises(copier.errors.MultipleConfigFilesError):
        copier.run_copy(str(src), tmp_path / "c", defaults=True, quiet=True)
    assert cli.main([str(src), str(tmp_path / "proj")]) == 2
    err = capsys.readouterr().err
    assert "copier.YAML" in err
    assert "copier.yml" in err
    assert "keep one" in err


# --- 4. answers to questions the template does not ask ------------------------------------------

UNASKED = {
    "copier.yml": "name: {default: x}\nport: {type: int, default: 1}\n",
    "out.txt.jinja": '{{ name }} {{ extra | default("-") }} {{ _copier_conf.data }}\n',
    "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
}


def test_an_answer_the_template_does_not_ask_is_in_the_context_not_the_answers_file_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make(tmp_path / "t", UNASKED)
    theirs, ours = both(src, tmp_path, monkeypatch, {"extra": "hello", "name": "n"})
    assert ours == theirs
    assert text(ours, "out.txt") == "n hello {'extra': 'hello', 'name': 'n'}\n"
    assert "extra" not in yaml.safe_load(text(ours, ".copier-answers.yml"))
    err = capsys.readouterr().err
    assert (
        "warning: template t: answers to questions the template does not ask: extra (it asks:"
        " name, port)"
    ) in err


def test_the_task_log_warns_of_an_answer_the_template_does_not_ask(
    thirdparty: Path, tmp_path: Path
) -> None:
    run = run_handler(
        agent,
        "bootstrap.project",
        {
            "template": str(thirdparty),
            "answers": {"project_name": "demo", "colour": "red"},
            "git": False,
            "checks": False,
        },
        workspace=tmp_path,
    )
    assert run.status == "SUCCEEDED", run.error
    [warning] = [line for line in run.logs if "does not ask" in line.message]
    assert warning.level.lower().startswith("warn")
    assert "colour (it asks: project_name, module," in warning.message
    assert "colour" not in run.output["answers"]


# --- 5. an extension failing to import a name ----------------------------------------------------


def test_an_extension_importing_a_name_its_module_lacks_says_so_as_copier_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # copier-base-template does `from typing import override` (Python 3.12+): the module is there,
    # the name is not; installing a `typing` package would not help.
    src = make(
        tmp_path / "t",
        {
            "copier.yml": (
                "_jinja_extensions:\n"
                "  - copier_template_extensions.TemplateExtensionLoader\n"
                "  - ext.py:Ext\n"
            ),
            "ext.py": (
                "from typing import no_such_name\n"
                "from jinja2.ext import Extension\n\n\nclass Ext(Extension):\n    pass\n"
            ),
        },
    )
    with pytest.raises(Exception, match="cannot import name 'no_such_name' from 'typing'"):
        copier.run_copy(str(src), tmp_path / "c", defaults=True, quiet=True, unsafe=True)
    assert cli.main(["--trust", str(src), str(tmp_path / "proj")]) == 2
    err = capsys.readouterr().err
    assert "cannot import name 'no_such_name' from 'typing'" in err
    assert "ext.py:Ext" in err
    assert "install" not in err


# --- 6. copier's documented semantics no tested template hit ------------------------------------

ASK = {
    "copier.yml": (
        "name: {default: world}\n"
        "internal:\n  type: str\n  ask: false\n"
        "other:\n  type: str\n  ask: false\n  default: '{{ name }}-x'\n"
        "later:\n  type: int\n  ask: '{{ name != \"world\" }}'\n  default: 3\n"
    ),
    "out.txt.jinja": "internal={{ internal is defined }} other={{ other }} later={{ later }}\n",
    "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
}


@pytest.mark.parametrize("data", [{}, {"internal": "given", "name": "n"}])
def test_a_question_not_asked_takes_its_default_or_stays_undefined_as_in_copier(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    data: dict[str, str],
) -> None:
    src = make(tmp_path / "t", ASK)
    theirs, ours = both(src, tmp_path, monkeypatch, data)
    assert ours == theirs
    if not data:
        assert text(ours, "out.txt") == "internal=False other=world-x later=3\n"
    assert "`ask` ignored" not in capsys.readouterr().err  # copier does not ignore it


def test_a_hidden_questions_given_answer_is_cast_and_validated_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": (
                "n:\n  type: int\n  when: false\n  validator: '{% if n > 3 %}too big{% endif %}'\n"
            ),
            "out.txt.jinja": "{{ n is defined }} {{ n | default('-') }} {{ n is number }}\n",
        },
    )
    theirs, ours = both(src, tmp_path, monkeypatch, {"n": "2"})
    assert ours == theirs
    assert text(ours, "out.txt") == "True 2 True\n"
    with pytest.raises(ValueError, match="too big"):
        copier.run_copy(str(src), tmp_path / "c", data={"n": "5"}, defaults=True, quiet=True)
    assert cli.main([str(src), str(tmp_path / "no"), "n=5"]) == 2
    assert "n: too big" in capsys.readouterr().err


UNSET = {
    "copier.yml": (
        "engine: {type: str, choices: [postgres, other], default: other}\n"
        "url:\n  type: str\n"
        "  default: \"{% if engine == 'postgres' %}pg://x{% else %}{{ UNSET }}{% endif %}\"\n"
        "hidden:\n  type: str\n  when: false\n  default: '{{ UNSET }}'\n"
    ),
    "out.txt.jinja": "url={{ url }} hidden={{ hidden is defined }}\n",
    "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
}


@pytest.mark.parametrize(
    "data", [{"engine": "postgres"}, {"url": "db://given"}], ids=["its-default", "answered"]
)
def test_a_default_rendering_unset_is_no_default_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: dict[str, str]
) -> None:
    src = make(tmp_path / "t", UNSET)
    theirs, ours = both(src, tmp_path, monkeypatch, data)
    assert ours == theirs
    assert "hidden=False" in text(ours, "out.txt")  # hidden, and no default: undefined


def test_a_question_whose_default_renders_unset_must_be_answered_as_in_copier(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make(tmp_path / "t", UNSET)
    with pytest.raises(ValueError, match='Question "url" is required'):
        copier.run_copy(str(src), tmp_path / "c", defaults=True, quiet=True)
    assert cli.main([str(src), str(tmp_path / "proj")]) == 2
    assert "url: required: the template has no default" in capsys.readouterr().err


def test_a_question_with_neither_type_nor_default_parses_its_answer_as_yaml_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": "py_version:\n  help: Python version\nflag:\n  help: a flag\n",
            "out.txt.jinja": "v={{ py_version }} flag={{ flag }} {{ flag is sameas true }}\n",
            "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
        },
    )
    theirs, ours = both(src, tmp_path, monkeypatch, {"py_version": "3.10", "flag": "yes"})
    assert ours == theirs
    answers = yaml.safe_load(text(ours, ".copier-answers.yml"))
    assert (answers["py_version"], answers["flag"]) == (3.1, True)


@pytest.mark.parametrize("given", ["[3.10, 3.11]", "['3.9', \"3.11\"]", "[]"])
def test_a_multiselect_answer_given_as_text_keeps_each_item_as_written_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": (
                "pythons:\n  type: str\n  multiselect: true\n"
                "  choices: ['3.9', '3.10', '3.11']\n  default: ['3.10']\n"
            ),
            "out.txt.jinja": "{{ pythons }}\n",
            "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
        },
    )
    theirs, ours = both(src, tmp_path, monkeypatch, {"pythons": given})
    assert ours == theirs


@pytest.mark.parametrize("as_int", ["true", "false"])
def test_a_templated_type_is_rendered_with_the_answers_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_int: str
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": (
                "as_int: {type: bool, default: true}\n"
                "num:\n  type: \"{{ 'int' if as_int else 'str' }}\"\n  default: '7'\n"
            ),
            "out.txt.jinja": "num={{ num + 1 if num is number else num }}\n",
            "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
        },
    )
    theirs, ours = both(src, tmp_path, monkeypatch, {"as_int": as_int})
    assert ours == theirs
    assert text(ours, "out.txt") == ("num=8\n" if as_int == "true" else "num=7\n")


@pytest.mark.parametrize("name", ["now", "make_secret"])
def test_a_question_named_as_copiers_own_helpers_is_refused_as_in_copier(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    src = make(tmp_path / "t", {"copier.yml": f"{name}: {{default: a}}\n"})
    with pytest.raises(Exception, match="Invalid question name"):
        copier.run_copy(str(src), tmp_path / "c", defaults=True, quiet=True)
    assert cli.main([str(src), str(tmp_path / "proj")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: copier.yml:1: question name {name!r} is reserved"), err


def test_dates_are_left_out_of_the_answers_file_and_to_json_writes_them_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": (
                "released: 2024-01-02\n"
                "stamp: {type: yaml, default: '2024-01-02 03:04:05'}\n"
                "name: {default: x}\n"
            ),
            "out.txt.jinja": "released={{ released }}\n",
            "out.json.jinja": "{{ {'r': released, 's': stamp, 'n': now().year > 0} | to_json }}\n",
            "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
        },
    )
    with pytest.warns(FutureWarning):  # copier's `now` is deprecated there
        theirs, ours = both(src, tmp_path, monkeypatch)
    assert ours == theirs
    assert yaml.safe_load(text(ours, ".copier-answers.yml")) == {"_src_path": str(src), "name": "x"}
    assert text(ours, "out.json") == '{"r": "2024-01-02", "s": "2024-01-02T03:04:05", "n": true}\n'


def test_a_subdirectory_of_dot_is_the_template_folder_with_copiers_default_exclude(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": "_subdirectory: ./\nname: {default: x}\n",
            "keep.txt": "hi\n",
            "b.pyc": "",
            "__pycache__/a.pyc": "",
            "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
        },
    )
    theirs, ours = both(src, tmp_path, monkeypatch)
    assert ours == theirs
    assert sorted(ours) == [".copier-answers.yml", "keep.txt"]


def test_a_templates_suffix_left_empty_is_jinja_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": "_templates_suffix:\nname: {default: x}\n",
            "plain.txt": "raw {{ name }}\n",
            "t.txt.jinja": "tpl {{ name }}\n",
        },
    )
    theirs, ours = both(src, tmp_path, monkeypatch)
    assert ours == theirs
    assert (text(ours, "plain.txt"), text(ours, "t.txt")) == ("raw {{ name }}\n", "tpl x\n")


def test_a_template_needing_a_later_copier_is_refused_as_copier_refuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make(tmp_path / "t", {"copier.yml": "_min_copier_version: 99.0.0\nname: x\n"})
    with pytest.raises(copier.errors.UnsupportedVersionError):
        copier.run_copy(str(src), tmp_path / "c", defaults=True, quiet=True)
    assert cli.main([str(src), str(tmp_path / "proj")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: copier.yml:1: the template needs copier >= 99.0.0"), err
    assert "as copier 9.19.1 does" in err
    # one that an earlier copier renders is rendered by both
    ok = make(tmp_path / "ok", {"copier.yml": "_min_copier_version: '9.0'\nname: x\n"})
    theirs, ours = both(ok, tmp_path / "ok-render", monkeypatch)
    assert ours == theirs


def test_of_two_files_rendering_to_a_path_to_skip_if_it_exists_the_first_stays_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": "name: {default: a}\n_skip_if_exists: [a.txt]\n",
            "a.txt": "plain\n",
            "{{ name }}.txt.jinja": "templated\n",
        },
    )
    theirs, ours = both(src, tmp_path, monkeypatch)
    assert ours == theirs
    order = [e.name for e in os.scandir(src)]
    first = min(("a.txt", "{{ name }}.txt.jinja"), key=order.index)
    assert text(ours, "a.txt") == ("plain\n" if first == "a.txt" else "templated\n")


def test_tasks_see_the_tasks_phase_as_in_copier(tmp_path: Path) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": (
                "_tasks:\n  - 'echo {{ _copier_phase }} $STAGE > phase.txt'\n"
                "  - [touch, '{{ _copier_phase }}.txt']\n"
            ),
            "keep.txt": "",
        },
    )
    copier.run_copy(str(src), tmp_path / "copier", defaults=True, quiet=True, unsafe=True)
    assert cli.main(["--trust", str(src), str(tmp_path / "ours")]) == 0
    assert tree(tmp_path / "ours") == tree(tmp_path / "copier")
    assert (tmp_path / "ours" / "phase.txt").read_text() == "tasks task\n"


def test_of_two_tags_naming_one_version_the_first_git_lists_is_rendered_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tagged(
        tmp_path / "t",
        [
            ("v1.0", {"copier.yml": "name: x\n", "which.txt": "A\n"}),
            ("1.0", {"which.txt": "B\n"}),
            ("", {"which.txt": "C\n"}),
        ],
    )
    theirs, ours = both(src, tmp_path, monkeypatch)
    assert ours == theirs
    assert text(ours, "which.txt") == "B\n"  # `1.0` sorts before `v1.0` in git's listing


def test_the_cli_renders_a_local_git_template_given_by_a_relative_path_as_copier_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "src").mkdir()
    tagged(
        tmp_path / "src" / "t",
        [("v1.0", {"copier.yml": "name: x\n", "{{ _copier_conf.answers_file }}.jinja": ANSWERS})],
    )
    monkeypatch.chdir(tmp_path)
    copier.run_copy("src/t", "copier", defaults=True, quiet=True)
    assert cli.main(["src/t", "ours"]) == 0
    assert tree(tmp_path / "ours") == tree(tmp_path / "copier")
    answers = yaml.safe_load((tmp_path / "ours" / ".copier-answers.yml").read_text())
    assert answers == {"_commit": "v1.0", "_src_path": "src/t", "name": "x"}


def test_a_git_bundle_renders_as_copier_renders_it_and_a_plain_file_is_refused_clearly(
    tmp_path: Path,
) -> None:
    repo = tagged(
        tmp_path / "repo",
        [("v1.0", {"copier.yml": "name: x\n", "{{ _copier_conf.answers_file }}.jinja": ANSWERS})],
    )
    bundle = tmp_path / "t.bundle"
    git(repo, "bundle", "create", str(bundle), "--all")
    copier.run_copy(str(bundle), tmp_path / "copier", defaults=True, quiet=True)
    (tmp_path / "home").mkdir()
    for name in ("ours", "cli"):
        (tmp_path / name).mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(tmp_path / "home"))  # the agent's template cache
        run = run_handler(
            agent,
            "bootstrap.project",
            {"template": str(bundle), "checks": False, "git": False},
            workspace=tmp_path / "ours",
        )
    assert run.status == "SUCCEEDED", run.error
    assert tree(tmp_path / "ours") == tree(tmp_path / "copier")
    assert cli.main([str(bundle), str(tmp_path / "cli" / "proj")]) == 0
    assert tree(tmp_path / "cli" / "proj") == tree(tmp_path / "copier")
    # A file that is no bundle: said, not a traceback.
    (tmp_path / "notes.txt").write_text("not a template\n")
    run = run_handler(
        agent, "bootstrap.project", {"template": str(tmp_path / "notes.txt")}, workspace=tmp_path
    )
    assert run.status == "FAILED"
    assert "is a file; give a template folder, a git repository or a git bundle" in run.error
    assert "Traceback" not in run.error
