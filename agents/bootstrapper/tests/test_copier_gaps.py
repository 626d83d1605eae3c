"""Each place where HyperAgent once differed from copier 9, rendered by both: ``_commit``, the
default filters, ``!include``, per-choice validators, the last file winning, answers as typed,
the context, the latest release tag, and broken templates failing cleanly."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from copier import _vcs as copier_vcs
from jinja2_ansible_filters.core_filters import FilterModule  # type: ignore[import-untyped]
from test_thirdparty_parity import git, tree

from hyperagent_bootstrapper import cli, vcs
from hyperagent_bootstrapper import render as rendering
from hyperagent_bootstrapper.agent import _template_name, agent
from hyperagent_bootstrapper.template import TemplateError, load
from hyperagent_sdk.testing import run_handler

ANSWERS = "{{ _copier_answers|to_nice_yaml }}"


def make(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def tagged(root: Path, tags: list[tuple[str, dict[str, str]]]) -> Path:
    """A git repository: one commit per (tag, files changed), tagged unless the tag is ''."""
    root.mkdir(exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    for tag, files in tags:
        make(root, files)
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", tag or "work")
        if tag:
            git(root, "tag", tag)
    return root


def both(
    src: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    data: dict[str, str] | None = None,
    *,
    options: tuple[str, ...] = (),
    vcs_ref: str | None = None,
    overwrite: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """copier's tree and ours, each rendered into ``proj`` from its own working folder; ours
    through the CLI with the answers as text, as ``copier --data`` takes them."""
    data = data or {}
    for side in ("copier", "ours"):
        (tmp_path / side).mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "copier")
    copier.run_copy(
        str(src), "proj", data=data, defaults=True, vcs_ref=vcs_ref, overwrite=overwrite
    )
    monkeypatch.chdir(tmp_path / "ours")
    argv = [*options, str(src), "proj", *(f"{k}={v}" for k, v in data.items())]
    assert cli.main(argv) == 0
    return tree(tmp_path / "copier" / "proj"), tree(tmp_path / "ours" / "proj")


def text(entries: dict[str, Any], path: str) -> str:
    return bytes(entries[path][1]).decode()


# --- 1. _commit ----------------------------------------------------------------------------------

COMMIT_TEMPLATE = {
    "copier.yml": "name: shop\n",
    "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
    "commit.txt.jinja": "[{{ _copier_answers._commit }}]\n",
}


@pytest.mark.parametrize("later_commit", [True, False], ids=["tag-then-work", "tag-at-head"])
def test_a_git_template_records_its_tag_as_commit_as_copier_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, later_commit: bool
) -> None:
    history = [("v1.0.0", {}), ("", {"x.txt": "x"})] if later_commit else [("v1.0.0", {})]
    src = tagged(make(tmp_path / "t", COMMIT_TEMPLATE), history)
    theirs, ours = both(src, tmp_path, monkeypatch)
    assert ours == theirs
    assert text(ours, "commit.txt") == "[v1.0.0]\n"
    assert yaml.safe_load(text(ours, ".copier-answers.yml"))["_commit"] == "v1.0.0"
    assert "x.txt" not in ours  # rendered at the tag, not at the branch's head


def test_a_plain_folder_records_no_commit_as_copier_and_the_cli_can_give_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make(tmp_path / "t", COMMIT_TEMPLATE)
    theirs, ours = both(src, tmp_path, monkeypatch)
    assert ours == theirs
    assert text(ours, "commit.txt") == "[]\n"  # renders, empty, as in copier
    assert "_commit" not in yaml.safe_load(text(ours, ".copier-answers.yml"))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--commit", "v2.0.0", str(src), "given"]) == 0
    assert (tmp_path / "given" / "commit.txt").read_text() == "[v2.0.0]\n"
    answers = yaml.safe_load((tmp_path / "given" / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v2.0.0"


def test_a_project_we_made_from_a_git_template_can_be_updated_by_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reason `_commit` matters: without it `copier update` cannot find the old template.
    src = tagged(make(tmp_path / "t", COMMIT_TEMPLATE), [("v1.0.0", {"app.txt": "one\n"})])
    monkeypatch.chdir(tmp_path)
    assert cli.main([str(src), "proj"]) == 0
    project = tmp_path / "proj"
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "made by HyperAgent")
    make(src, {"app.txt": "two\n"})
    git(src, "commit", "-q", "-am", "two")
    git(src, "tag", "v1.1.0")
    copier.run_update(str(project), defaults=True, overwrite=True, quiet=True, unsafe=True)
    assert (project / "app.txt").read_text() == "two\n"
    assert (project / "commit.txt").read_text() == "[v1.1.0]\n"
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v1.1.0"


# --- 2. filters ----------------------------------------------------------------------------------


def test_every_filter_of_copiers_default_set_and_pathjoin_render_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": "name: shop\n",
            "out.txt.jinja": (
                "{{ '%Y-%m-%d' | strftime(0) }}\n"
                "{{ {'a': 1} | combine({'b': 2}) | to_json }}\n"
                "{{ [1, [2, [3]]] | flatten }}\n"
                "{{ name | hash('sha1') }} {{ name | to_uuid }}\n"
                "{{ 'a1b22' | regex_findall('[0-9]+') }}\n"
                "{{ name | mandatory }} {{ '2020-01-02' | to_datetime('%Y-%m-%d') }}\n"
                "{{ pathjoin('a', 'b', 'c.txt') }} {{ pathjoin('a', 'b', mode='windows') }}\n"
                "{{ _copier_conf | to_json }}\n"
            ),
        },
    )
    theirs, ours = both(src, tmp_path, monkeypatch)
    assert text(ours, "out.txt") == text(theirs, "out.txt")
    assert "a/b/c.txt a\\b" in text(ours, "out.txt")
    template = load(src)
    assert set(FilterModule().filters()) <= set(rendering.environment(template).filters)


# --- 3. !include ---------------------------------------------------------------------------------


def test_include_in_documents_and_values_and_empty_documents_are_read_as_copier_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": (
                "---\n# only a comment: an empty document\n---\n"
                "!include questions/*.yml\n"
                "---\n"
                "licence:\n  type: str\n  default: MIT\n  choices: !include shared/licences.yml\n"
                "---\n_exclude: [skipped.txt]\n"
            ),
            "questions/one.yml": "name:\n  type: str\n  default: shop\n---\n---\n",
            "questions/two.yml": "_exclude: ['*.bak']\nport:\n  type: int\n  default: 8000\n",
            "shared/licences.yml": "- MIT\n- Apache-2.0\n",
            "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
            "skipped.txt": "",
            "notes.bak": "",
            "kept.txt": "",
        },
    )
    theirs, ours = both(src, tmp_path, monkeypatch, {"licence": "Apache-2.0"})
    assert ours == theirs
    answers = yaml.safe_load(text(ours, ".copier-answers.yml"))
    assert answers == {"_src_path": str(src), "licence": "Apache-2.0", "name": "shop", "port": 8000}
    assert "kept.txt" in ours
    assert "skipped.txt" not in ours  # `_exclude` of two documents joined
    assert "notes.bak" not in ours


@pytest.mark.parametrize(
    ("pattern", "setup"),
    [
        ("../outside.yml", None),
        ("/etc/hostname", None),
        ("shared/link.yml", "link"),
    ],
)
def test_an_include_that_leaves_the_template_is_refused_with_file_and_line(
    tmp_path: Path, pattern: str, setup: str | None
) -> None:
    (tmp_path / "outside.yml").write_text("secret: 1\n")
    src = make(tmp_path / "t", {"copier.yml": f"name: shop\n---\n!include {pattern}\n"})
    if setup == "link":
        (src / "shared").mkdir()
        (src / "shared" / "link.yml").symlink_to(tmp_path / "outside.yml")
    with pytest.raises(TemplateError) as err:
        load(src)
    assert err.value.where == "copier.yml:3"
    assert "template folder" in err.value.message


def test_an_include_in_a_value_that_leaves_the_template_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / "outside.yml").write_text("- a\n")
    src = make(tmp_path / "t", {"copier.yml": "name:\n  choices: !include ../outside.yml\n"})
    with pytest.raises(TemplateError) as err:
        load(src)
    assert err.value.where == "copier.yml:2"
    assert "outside the template folder" in err.value.message


# --- 4. per-choice validators --------------------------------------------------------------------

VERSIONS = {
    "copier.yml": (
        "min_py:\n  type: str\n  default: '3.9'\n  choices: ['3.9', '3.13']\n"
        "max_py:\n  type: str\n  default: '3.13'\n  choices:\n"
        "    '3.9':\n      value: '3.9'\n"
        "      validator: \"{% if min_py == '3.13' %}below the minimum {{ min_py }}{% endif %}\"\n"
        "    '3.13':\n      value: '3.13'\n"
    ),
    "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
}


def test_a_choice_its_validator_disables_is_refused_as_copier_refuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make(tmp_path / "t", VERSIONS)
    data = {"min_py": "3.13", "max_py": "3.9"}
    with pytest.raises(ValueError, match=r"below the minimum 3\.13"):
        copier.run_copy(str(src), tmp_path / "c", data=data, defaults=True, quiet=True)
    monkeypatch.chdir(tmp_path)
    assert cli.main([str(src), "proj", "min_py=3.13", "max_py=3.9"]) == 2
    err = capsys.readouterr().err
    assert "max_py: '3.9' cannot be chosen: below the minimum 3.13" in err
    assert not (tmp_path / "proj").exists()
    # the same choice is fine where its validator allows it
    theirs, ours = both(src, tmp_path / "ok", monkeypatch, {"min_py": "3.9", "max_py": "3.9"})
    assert ours == theirs


def test_choices_given_as_jinja_are_rendered_with_the_answers_as_copier_renders_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": (
                "big: false\n"
                "size:\n  type: str\n  default: s\n"
                "  choices: \"{{ ['s', 'xl'] if big else ['s'] }}\"\n"
            ),
            "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
        },
    )
    theirs, ours = both(src, tmp_path, monkeypatch, {"big": "true", "size": "xl"})
    assert ours == theirs
    assert yaml.safe_load(text(ours, ".copier-answers.yml"))["size"] == "xl"
    with pytest.raises(ValueError, match="Invalid choice"):
        copier.run_copy(str(src), tmp_path / "c", data={"size": "xl"}, defaults=True, quiet=True)
    assert cli.main([str(src), str(tmp_path / "no"), "size=xl"]) == 2
    assert "size: 'xl' is not one of the choices ['s']" in capsys.readouterr().err


# --- 5. the last file wins -----------------------------------------------------------------------


def test_when_two_template_files_render_to_one_path_the_last_wins_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": "name: shop\n",
            "{{ _copier_conf.answers_file }}.jinja": "# first\n" + ANSWERS,
            ".copier-answers.yml.jinja": "# second\n" + ANSWERS,
            "{{ 'same' }}.txt": "plain\n",
            "{{ 'sa' + 'me' }}.txt.jinja": "templated\n",
        },
    )
    # copier asks before writing a path twice; --overwrite lets the later file through
    theirs, ours = both(src, tmp_path, monkeypatch, overwrite=True)
    assert ours == theirs
    # the winner is whichever of the two the walk meets last (os.scandir's order, as copier)
    order = [e.name for e in os.scandir(src)]
    last_answers = max(
        ("{{ _copier_conf.answers_file }}.jinja", ".copier-answers.yml.jinja"), key=order.index
    )
    assert text(ours, ".copier-answers.yml").startswith(
        "# first" if last_answers.startswith("{{") else "# second"
    )


def test_a_yield_tag_in_a_path_makes_one_path_per_value_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": "apps:\n  type: yaml\n  default: [shop, blog]\n",
            "{% yield app from apps %}{{ app }}{% endyield %}/models.py.jinja": "# {{ app }}\n",
            "{% yield app from apps %}{{ app }}{% endyield %}/static.txt": "same\n",
            "{% yield n from [1, 2] %}page{{ n }}.txt{% endyield %}.jinja": "{{ n }}/{{ apps }}\n",
        },
    )
    theirs, ours = both(src, tmp_path, monkeypatch, {"apps": "[shop, blog, wiki]"})
    assert ours == theirs
    assert text(ours, "wiki/models.py") == "# wiki\n"
    assert text(ours, "page2.txt") == "2/['shop', 'blog', 'wiki']\n"


def test_a_plain_file_whose_rendered_name_has_a_templated_twin_is_left_out_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": "name: shop\n",
            "{{ name }}.txt": "plain\n",
            "shop.txt.jinja": "templated {{ name }}\n",
            "other.txt": "kept\n",
        },
    )
    theirs, ours = both(src, tmp_path, monkeypatch)
    assert ours == theirs
    assert text(ours, "shop.txt") == "templated shop\n"


# --- 6. answers as typed, and the CLI's warnings -------------------------------------------------


def test_cli_answers_are_cast_by_the_questions_type_as_copier_casts_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": (
                "python_version:\n  type: str\n  default: '3.12'\n"
                "port:\n  type: int\n  default: 1\n"
                "docker:\n  type: bool\n  default: true\n"
                "extras:\n  type: yaml\n  default: []\n"
                "untyped: ''\n"
            ),
            "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
        },
    )
    data = {
        "python_version": "3.10",
        "port": "8080",
        "docker": "no",
        "extras": "[a, b]",
        "untyped": "1.0",
    }
    theirs, ours = both(src, tmp_path, monkeypatch, data)
    assert ours == theirs
    answers = yaml.safe_load(text(ours, ".copier-answers.yml"))
    assert answers["python_version"] == "3.10"
    assert answers["untyped"] == "1.0"
    assert (answers["port"], answers["docker"], answers["extras"]) == (8080, False, ["a", "b"])


def test_the_cli_prints_the_templates_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = "name: shop\n_tasks: ['rm -rf ~']\n_migrations: ['echo old']\n"
    src = make(tmp_path / "t", {"copier.yml": manifest})
    monkeypatch.chdir(tmp_path)
    assert cli.main([str(src), "proj"]) == 0
    err = capsys.readouterr().err
    assert "warning: template t: `_migrations` ignored: migrations apply to `copier update`" in err
    # A task is the template's own code: without --trust it is named, not run.
    assert "warning: template t: not run without --trust: the t template's command in the new" in (
        err
    )
    assert "`rm -rf ~`" in err


# --- 7. the context ------------------------------------------------------------------------------

CONTEXT = {
    "copier.yml": (
        "name:\n  type: str\n  default: '{{ _copier_phase }}'\n"
        "_exclude:\n  - \"{% if _copier_operation == 'copy' %}update-only.txt{% endif %}\"\n"
        "  - copier.yml\n"
    ),
    "update-only.txt": "",
    "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
    "context.txt.jinja": (
        "{% for key in ['dst_path', 'answers_file', 'vcs_ref', 'data', 'exclude', 'defaults',"
        " 'skip_if_exists', 'use_prereleases', 'overwrite', 'pretend', 'conflict', 'context_lines',"
        " 'unsafe', 'skip_answered', 'skip_tasks', 'cleanup_on_error', 'sep', 'os'] %}"
        "{{ key }}={{ _copier_conf[key] }}\n{% endfor %}"
        "dst_name={{ _copier_conf.dst_path.name }}\n"
        "folder={{ _folder_name }} phase={{ _copier_phase }} name={{ name }}\n"
        "operation={{ _copier_operation }}\n"
        "hash={{ _copier_conf.vcs_ref_hash }}\n"
        "src={{ _copier_conf.src_path }}\n"
    ),
}


def test_the_context_is_copiers_for_a_plain_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make(tmp_path / "t", CONTEXT)
    theirs, ours = both(src, tmp_path, monkeypatch, {"name": "shop"})
    assert ours == theirs
    rendered = text(ours, "context.txt")
    assert "dst_path=proj\n" in rendered
    assert "data={'name': 'shop'}\n" in rendered
    assert "folder=proj phase=render name=shop\n" in rendered
    assert f"src={src}\n" in rendered
    assert "update-only.txt" not in ours  # `_copier_operation` is "copy" in `_exclude`
    # a default sees the questionnaire's phase
    theirs, ours = both(src, tmp_path / "default", monkeypatch)
    assert ours == theirs
    assert yaml.safe_load(text(ours, ".copier-answers.yml"))["name"] == "prompt"


def test_the_combined_answers_are_copiers_in_sources_order_and_priority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": (
                "a: x\nb: y\nhidden:\n  type: str\n  when: false\n"
                "token:\n  type: str\n  default: s\n  secret: true\n"
                "later: '{{ c_given_later }}'\nc_given_later: z\n"
            ),
            "out.txt.jinja": (
                "{{ _copier_answers | to_json }}\n"
                "src={{ _src_path }} hidden={{ hidden }} token={{ token }} later={{ later }}\n"
                "{{ now().year > 2000 }} {{ make_secret() | length }} {{ _external_data | list }}\n"
            ),
        },
    )
    data = {"b": "given b", "hidden": "seen, not remembered", "a": "given a", "c_given_later": "c"}
    with pytest.warns(FutureWarning):  # copier's `now` and `make_secret` are deprecated there
        theirs, ours = both(src, tmp_path, monkeypatch, data)
    assert ours == theirs
    lines = text(ours, "out.txt").splitlines()
    assert lines[0].startswith('{"_src_path": "' + str(src) + '", "b": "given b", "a": "given a"')
    assert "hidden=seen, not remembered token=s later=c" in lines[1]
    assert lines[2] == "True 128 []"


def test_the_context_of_a_git_template_has_its_ref_and_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tagged(make(tmp_path / "t", CONTEXT), [("v1.0.0", {}), ("v1.1.0", {"x.txt": ""})])
    theirs, ours = both(
        src, tmp_path, monkeypatch, options=("--vcs-ref", "v1.0.0"), vcs_ref="v1.0.0"
    )
    # the checkout's own folder (`src_path`) is a temporary one on each side
    assert [line for line in text(ours, "context.txt").splitlines() if "src=" not in line] == [
        line for line in text(theirs, "context.txt").splitlines() if "src=" not in line
    ]
    sha = subprocess.run(
        ["git", "rev-parse", "v1.0.0^{commit}"], cwd=src, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert f"hash={sha}\n" in text(ours, "context.txt")
    assert "vcs_ref=v1.0.0\n" in text(ours, "context.txt")


def test_a_templated_subdirectory_is_rendered_with_the_answers_as_in_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": "flavour: plain\n_subdirectory: '{{ flavour }}'\n",
            "plain/README.md.jinja": "plain {{ flavour }}\n",
            "fancy/README.md.jinja": "fancy {{ flavour }}\n",
            "fancy/{{ flavour }}.txt": "",
        },
    )
    theirs, ours = both(src, tmp_path, monkeypatch, {"flavour": "fancy"})
    assert ours == theirs
    assert sorted(ours) == ["README.md", "fancy.txt"]
    assert text(ours, "README.md") == "fancy fancy\n"


# --- 8. the latest release tag by default --------------------------------------------------------

RELEASES = [
    (
        "v1.0.0",
        {
            "copier.yml": "name: shop\n",
            "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
            "version.txt": "1.0.0\n",
        },
    ),
    ("v1.10.0", {"version.txt": "1.10.0\n"}),
    ("v1.9.0", {"version.txt": "1.9.0\n"}),  # tagged later, but older by PEP 440
    ("v2.0.0rc1", {"version.txt": "2.0.0rc1\n"}),  # a pre-release: skipped
    ("nightly", {"version.txt": "nightly\n"}),  # not a version: skipped
    ("", {"version.txt": "unreleased\n"}),
]


@pytest.mark.parametrize(
    ("vcs_ref", "version", "commit"),
    [
        (None, "1.10.0", "v1.10.0"),
        ("v1.0.0", "1.0.0", "v1.0.0"),
        ("v2.0.0rc1", "2.0.0rc1", "v2.0.0rc1"),
        ("main", "unreleased", "nightly-1-g"),
    ],
)
def test_a_git_template_renders_its_latest_release_or_the_ref_asked_for_as_copier_does(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    vcs_ref: str | None,
    version: str,
    commit: str,
) -> None:
    src = tagged(tmp_path / "t", RELEASES)
    options = ("--vcs-ref", vcs_ref) if vcs_ref else ()
    theirs, ours = both(src, tmp_path, monkeypatch, options=options, vcs_ref=vcs_ref)
    assert ours == theirs
    assert text(ours, "version.txt") == f"{version}\n"
    assert yaml.safe_load(text(ours, ".copier-answers.yml"))["_commit"].startswith(commit)


def test_a_local_template_without_tags_renders_its_uncommitted_changes_as_copier_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tagged(make(tmp_path / "t", {"copier.yml": "name: shop\n"}), [("", {"a.txt": "1\n"})])
    make(src, {"a.txt": "2 (not committed)\n", "new.txt": "new\n"})
    with pytest.warns(UserWarning, match="Dirty template changes"):
        theirs, ours = both(src, tmp_path, monkeypatch)
    assert ours == theirs
    assert text(ours, "a.txt") == "2 (not committed)\n"
    assert "new.txt" in ours
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=src, capture_output=True, text=True, check=True
    )
    assert status.stdout  # the template itself is left as it was: still uncommitted


@pytest.mark.parametrize(
    "source",
    [
        "gh:copier-org/autopretty",
        "gh:/copier-org/autopretty.git",
        "gl:group/sub/template",
        "git+https://example.org/t",
        "git@github.com:copier-org/autopretty.git",
        "https://github.com/copier-org/autopretty",
        "https://example.org/t.git",
        "git://example.org/t",
    ],
)
def test_remote_template_names_are_read_as_copier_reads_them(source: str) -> None:
    assert vcs.remote_url(source) == copier_vcs.get_repo(source)


def test_a_local_folder_is_not_taken_for_a_remote_template(tmp_path: Path) -> None:
    assert vcs.remote_url(str(tmp_path)) is None


def test_the_agent_renders_a_local_git_template_at_the_ref_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tagged(tmp_path / "t", RELEASES)
    (tmp_path / "home").mkdir()
    (tmp_path / "proj").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # the agent's template cache
    run = run_handler(
        agent,
        "bootstrap.project",
        {"template": str(src), "vcs_ref": "v1.9.0", "checks": False, "git": False},
        workspace=tmp_path / "proj",
    )
    assert run.status == "SUCCEEDED", run.error
    assert (tmp_path / "proj" / "version.txt").read_text() == "1.9.0\n"
    answers = yaml.safe_load((tmp_path / "proj" / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v1.9.0"
    assert answers["_src_path"] == str(src)
    # Named by its own folder, not by where it was checked out.
    assert run.summary.startswith(f"t project at {tmp_path / 'proj'}:"), run.summary


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("https://github.com/org/api.git", "api"),
        ("https://github.com/org/api/", "api"),
        ("git@github.com:org/api.git", "api"),
        ("git@github.com:api.git", "api"),
        ("/src/templates/service", "service"),
        ("https://example.org/..", "template"),
        ("https://example.org/", "template"),
    ],
)
def test_a_checked_out_template_is_named_by_the_last_part_of_its_source(
    source: str, name: str
) -> None:
    assert _template_name(source) == name


# --- 9. broken templates: file:line, exit code 2, no traceback -----------------------------------


def _socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))


BROKEN: dict[str, tuple[dict[str, str], str]] = {
    "dangling symlink": ({}, "link.txt: a symbolic link to "),
    "symlink loop": ({}, "loop.txt: a symbolic link that cannot be followed"),
    "symlink leaving the template": ({}, "out.txt: a symbolic link to /"),
    "unreadable file": ({}, "sock.txt: cannot be read"),
    "bad YAML": ({"copier.yml": "name: shop\nport: [1, 2\n"}, "copier.yml:3: invalid YAML"),
    "manifest not UTF-8": ({}, "copier.yml: not UTF-8 text"),
    "a list as a document": ({"copier.yml": "- a\n- b\n"}, "copier.yml:1: a manifest document"),
    "undefined name in a path": (
        {"copier.yml": "_envops: {undefined: jinja2.StrictUndefined}\n", "{{ nope }}.txt": ""},
        "{{ nope }}.txt: UndefinedError: 'nope' is undefined",
    ),
    "binary .jinja file": ({}, "logo.png.jinja: a .jinja file must be UTF-8 text, not binary"),
    "syntax error": ({"app.py.jinja": "a\n{% if x %}\n"}, "app.py.jinja:2: Unexpected end"),
    "include of a folder": ({"a.txt.jinja": "{% include 'sub' %}", "sub/x": ""}, "a.txt.jinja:"),
    "!include of a folder": (
        {"copier.yml": "---\n!include shared\n", "shared/x.yml": "a: 1\n"},
        "copier.yml:2: `!include shared` matches shared, a folder",
    ),
    "path leaving the project": ({"{{ '..' }}/x.txt": ""}, "{{ '..' }}: renders to '..'"),
    "yield in a file": (
        {"a.txt.jinja": "{% yield x from [1] %}{{ x }}{% endyield %}"},
        "a.txt.jinja: a {% yield %} tag belongs in a path name",
    ),
    "two yields in a path": (
        {"{% yield a from [1] %}{{ a }}{% endyield %}{% yield b from [2] %}{% endyield %}": ""},
        "{% yield a from [1] %}",
    ),
    "manifest is a folder": ({}, "copier.yml: is a folder"),
    "a filter failing in a file": (
        {"a.txt.jinja": "ok\n{{ 'x' | to_datetime('%Y') }}\n"},
        "a.txt.jinja:2: ValueError: time data 'x' does not match format '%Y'",
    ),
    "division by zero in a default": (
        {"copier.yml": "n:\n  default: '{{ 1 // 0 }}'\n"},
        "copier.yml:1 (default): ZeroDivisionError",
    ),
    "endless macro recursion": (
        {"a.txt.jinja": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"},
        "a.txt.jinja:1: RecursionError",
    ),
    "!include loop": (
        {"copier.yml": "---\n!include a.yml\n", "a.yml": "x:\n  choices: !include copier.yml\n"},
        "a.yml:2: `!include` loops: copier.yml -> a.yml -> copier.yml",
    ),
    "unknown question type": (
        {"copier.yml": "name:\n  type: list\n"},
        "copier.yml:1: question 'name' has type 'list'",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_template_is_a_clean_error_naming_file_and_line(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files, expected = BROKEN[case]
    src = make(tmp_path / "t", {"copier.yml": "name: shop\n", **files})
    if case == "dangling symlink":
        (src / "link.txt").symlink_to(src / "missing.txt")
    elif case == "symlink loop":
        (src / "loop.txt").symlink_to(src / "loop.txt")
    elif case == "symlink leaving the template":
        (src / "out.txt").symlink_to(Path(sys.executable).resolve())
    elif case == "unreadable file":
        _socket(src / "sock.txt")
    elif case == "manifest is a folder":
        (src / "copier.yml").unlink()
        (src / "copier.yml").mkdir()
    elif case == "manifest not UTF-8":
        (src / "copier.yml").write_bytes(b"name: \xff\n")
    elif case == "binary .jinja file":
        (src / "logo.png.jinja").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    monkeypatch.chdir(tmp_path)
    assert cli.main([str(src), "proj"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {expected}"), err
    assert "Traceback" not in err
    assert not (tmp_path / "proj").exists()


def test_a_default_that_needs_a_missing_answer_is_listed_with_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make(
        tmp_path / "t",
        {
            "copier.yml": (
                "slug:\n  type: str\nmodule:\n  default: \"{{ slug.replace('-', '_') }}\"\n"
            )
        },
    )
    assert cli.main([str(src), str(tmp_path / "proj")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: slug: required: the template has no default; module: cannot be")
    assert "'slug' is undefined" in err


def test_the_cli_process_exits_2_on_a_dangling_symlink_without_a_traceback(tmp_path: Path) -> None:
    src = make(tmp_path / "t", {"copier.yml": "name: shop\n"})
    (src / "link.txt").symlink_to(src / "missing.txt")
    done = subprocess.run(
        [sys.executable, "-m", "hyperagent_bootstrapper.cli", str(src), str(tmp_path / "proj")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: link.txt: a symbolic link to "), done.stderr
    assert "does not exist" in done.stderr
    assert "Traceback" not in done.stderr
