//! The check of a template's files: under its `_subdirectory`, leaving out what `_exclude`
//! matches, every file and folder name with Jinja in it must parse, and so must every file that
//! would be rendered (its name ends in `_templates_suffix`). Other files are not read.
use std::path::Path;

use super::manifest::Manifest;
use super::{is_templated, parse_jinja, Check};

/// Checks the files under the manifest's `_subdirectory` (see the module doc).
pub(super) fn check_files(dir: &Path, m: &Manifest, c: &mut Check) {
    let Some(sub) = &m.subdirectory else { return };
    let root = dir.join(sub);
    let mut b = ignore::gitignore::GitignoreBuilder::new(&root);
    for pattern in &m.exclude {
        if is_templated(pattern) {
            // Depends on the answers: cannot be applied before rendering; it must still parse.
            if let Err((l, msg)) = parse_jinja(pattern) {
                c.errors.push(format!(
                    "{}: `_exclude` pattern `{pattern}` is not valid Jinja (line {l}): {msg}",
                    m.file
                ));
            }
            continue;
        }
        if let Err(e) = b.add_line(None, pattern) {
            c.errors
                .push(format!("{}: `_exclude` pattern `{pattern}`: {e}", m.file));
        }
    }
    let exclude = b
        .build()
        .unwrap_or_else(|_| ignore::gitignore::Gitignore::empty());
    walk(&root, Path::new(""), Path::new(sub), &m.suffix, &exclude, c);
}

fn walk(
    abs: &Path,
    rel: &Path,
    shown: &Path,
    suffix: &str,
    exclude: &ignore::gitignore::Gitignore,
    c: &mut Check,
) {
    let mut entries: Vec<_> = match std::fs::read_dir(abs) {
        Ok(rd) => rd.filter_map(|e| e.ok()).collect(),
        Err(e) => {
            c.errors
                .push(format!("{}: cannot be read: {e}", shown.display()));
            return;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let path = e.path();
        let (rel, shown) = (rel.join(&name), shown.join(&name));
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let link = meta.file_type().is_symlink();
        let target = if link {
            match std::fs::metadata(&path) {
                Ok(t) => t,
                Err(_) => continue, // a dangling link: copier skips it too
            }
        } else {
            meta
        };
        if exclude.matched(&rel, target.is_dir()).is_ignore() {
            continue;
        }
        let name = name.to_string_lossy();
        if is_templated(&name) {
            if let Err((_, msg)) = parse_jinja(&name) {
                c.errors.push(format!(
                    "{}: its name is not valid Jinja: {msg}",
                    shown.display()
                ));
            }
        }
        if target.is_dir() {
            if !link {
                walk(&path, &rel, &shown, suffix, exclude, c);
            }
        } else if name.ends_with(suffix) {
            match std::fs::read(&path) {
                Ok(bytes) => match std::str::from_utf8(&bytes) {
                    Ok(text) => {
                        if let Err((line, msg)) = parse_jinja(text) {
                            c.errors
                                .push(format!("{}:{line}: {msg}", shown.display()));
                        }
                    }
                    Err(_) => c.errors.push(format!(
                        "{}: not UTF-8 text, but its name ends in `{suffix}` so it would be rendered",
                        shown.display()
                    )),
                },
                Err(e) => c
                    .errors
                    .push(format!("{}: cannot be read: {e}", shown.display())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{broken, template, write};
    use super::super::{load, TemplateStatus};

    #[test]
    fn a_broken_jinja_file_names_its_path_and_line() {
        let err = broken(
            "_subdirectory: template\nname: x\n",
            &[
                ("template/ok.txt.jinja", "{{ name }}\n"),
                ("template/app/main.py.jinja", "a\nb\n{% if name %}\nc\n"),
                ("template/plain.txt", "{% not jinja, not a template %}"),
                ("docs/outside.jinja", "{% broken"),
            ],
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("template/app/main.py.jinja:3: unexpected end of input"),
            "{err}"
        );
    }

    #[test]
    fn broken_file_and_folder_names() {
        let err = broken("x: 1\n", &[("{{ x }/a.txt", "")]);
        assert!(
            err.starts_with("{{ x }: its name is not valid Jinja"),
            "{err}"
        );
        let (_tmp, t) = template("x: 1\n", &[("{{ x }}/{% if x %}a{% endif %}.txt", "")]);
        assert_eq!(t.status, TemplateStatus::Ok, "{}", t.error);
    }

    #[test]
    fn undefined_filters_are_fine_when_only_parsing() {
        let (_tmp, t) = template(
            "x: 1\n",
            &[(
                "a.yml.jinja",
                "{{ x | to_nice_yaml | unknown_filter(2) }}{% if x is weird %}{% endif %}",
            )],
        );
        assert_eq!(t.status, TemplateStatus::Ok, "{}", t.error);
    }

    #[test]
    fn exclusions_are_honoured() {
        // Copier's defaults (no _exclude, no _subdirectory): .git and ~* are left out.
        let (_tmp, t) = template(
            "x: 1\n",
            &[
                (".git/hooks/x.jinja", "{% bad"),
                ("~backup.jinja", "{% bad"),
            ],
        );
        assert_eq!(t.status, TemplateStatus::Ok, "{}", t.error);
        // A manifest's _exclude replaces them (copier's rule), gitignore patterns with negation.
        let err = broken(
            "_exclude: ['*.draft', 'skip/', '!keep.draft']\n",
            &[
                ("a.draft", "{% bad"),
                ("skip/b.jinja", "{% bad"),
                ("keep.draft", ""),
                ("keep.jinja.draft", ""),
                ("~c.jinja", "{% bad"),
            ],
        );
        assert!(err.starts_with("~c.jinja:1:"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }

    #[test]
    fn binary_files_are_skipped_unless_they_would_be_rendered() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("t");
        write(&dir, "copier.yml", "x: 1\n");
        std::fs::write(dir.join("logo.png"), [0x89, b'P', 0xff, 0xfe]).unwrap();
        assert_eq!(load("t", &dir).unwrap().status, TemplateStatus::Ok);
        std::fs::write(dir.join("logo.png.jinja"), [0xff, 0xfe]).unwrap();
        let t = load("t", &dir).unwrap();
        assert!(
            t.error.starts_with("logo.png.jinja: not UTF-8"),
            "{}",
            t.error
        );
        // An empty suffix renders every file.
        write(&dir, "copier.yml", "_templates_suffix: ''\n");
        std::fs::remove_file(dir.join("logo.png.jinja")).unwrap();
        assert!(load("t", &dir)
            .unwrap()
            .error
            .starts_with("logo.png: not UTF-8"));
    }
}
