"""Changed lines from `git diff --unified=0`, and keeping only the findings on them."""

from __future__ import annotations

from hyperagent_codereview.changes import on_changed_lines, parse_diff, unquote, with_untracked
from hyperagent_codereview.findings import Finding

DIFF = """\
diff --git a/pkg/main.py b/pkg/main.py
index 1111111..2222222 100644
--- a/pkg/main.py
+++ b/pkg/main.py
@@ -2,0 +3,2 @@ import os
+import json
+
@@ -10 +12 @@ def f():
-    return 1
+    return 2
@@ -20,3 +21,0 @@ def g():
-    a
-    b
-    c
diff --git a/gone.py b/gone.py
deleted file mode 100644
--- a/gone.py
+++ /dev/null
@@ -1 +0,0 @@
-x = 1
diff --git "a/odd name\\303\\251.py" "b/odd name\\303\\251.py"
--- "a/odd name\\303\\251.py"
+++ "b/odd name\\303\\251.py"
@@ -1 +1 @@
-x = 1
+x = 2
"""


def finding(file: str, line: int, end_line: int = 0) -> Finding:
    return Finding(file, line, 1, "R", "warning", "m", "ruff", end_line=end_line)


def test_added_and_replaced_lines_count_and_deletions_do_not() -> None:
    changed = parse_diff(DIFF)
    assert changed == {"pkg/main.py": {3, 4, 12}, "odd nameé.py": {1}}


def test_quoted_paths_are_decoded_as_git_writes_them() -> None:
    assert unquote('"a\\tb\\"c\\\\d"') == 'a\tb"c\\d'
    assert unquote("plain.py") == "plain.py"


def test_a_finding_is_kept_when_any_line_it_covers_changed() -> None:
    changed = parse_diff(DIFF)
    kept = on_changed_lines(
        [
            finding("pkg/main.py", 3),  # the added import
            finding("pkg/main.py", 5),  # an unchanged line
            finding("pkg/main.py", 10, end_line=15),  # a function holding line 12
            finding("pkg/main.py", 21),  # where lines were only deleted
            finding("other.py", 1),  # a file the branch did not touch
        ],
        changed,
    )
    assert [(f.file, f.line) for f in kept] == [("pkg/main.py", 3), ("pkg/main.py", 10)]


def test_untracked_files_are_changed_on_every_line() -> None:
    changed = with_untracked(parse_diff(DIFF), ["new.py", ""])
    kept = on_changed_lines([finding("new.py", 400), finding("pkg/main.py", 400)], changed)
    assert [(f.file, f.line) for f in kept] == [("new.py", 400)]
