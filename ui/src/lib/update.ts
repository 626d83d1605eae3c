// `project.update` (the bootstrapper's): its payload, its output read back, and what a failed
// preview's error means in plain words and which field it belongs to.

export const UPDATE_TASK = 'project.update';

/** How a conflict is left (the bootstrapper's `conflict`). */
export type ConflictMode = 'inline' | 'rej';

/** What the person chose in "Update from template". */
export interface UpdateChoice {
  /** The version to update to; blank: the template's latest release tag. */
  vcsRef: string;
  conflict: ConflictMode;
}

/** The payload of `project.update` for `choice`, previewed or not. */
export function updatePayload(choice: UpdateChoice, preview: boolean): Record<string, unknown> {
  const vcsRef = choice.vcsRef.trim();
  return { conflict: choice.conflict, preview, ...(vcsRef ? { vcs_ref: vcsRef } : {}) };
}

/** The output of `project.update` (`_update_output` in the bootstrapper; a preview adds `diff`). */
export interface UpdateOutput {
  path: string;
  template: string;
  old_commit: string;
  new_commit: string;
  changed: string[];
  added: string[];
  removed: string[];
  conflicts: string[];
  conflict: string;
  warnings: string[];
  message: string;
  preview: boolean;
  diff: string;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** An update's output read from the task's output, or null when it is not one. */
export function updateOutputOf(output: Record<string, unknown> | null): UpdateOutput | null {
  if (!output || typeof output.old_commit !== 'string' || typeof output.new_commit !== 'string') return null;
  return {
    path: text(output.path),
    template: text(output.template),
    old_commit: output.old_commit,
    new_commit: output.new_commit,
    changed: strings(output.changed),
    added: strings(output.added),
    removed: strings(output.removed),
    conflicts: strings(output.conflicts),
    conflict: text(output.conflict) || 'inline',
    warnings: strings(output.warnings),
    message: text(output.message),
    preview: output.preview === true,
    diff: text(output.diff),
  };
}

/** Nothing to change: the project is already at the version asked for (or the latest). */
export function upToDate(out: UpdateOutput): boolean {
  return out.changed.length + out.added.length + out.removed.length === 0;
}

/** Where a conflict is left for the person: the file itself (markers), or its `.rej` beside it. */
export function conflictFile(out: UpdateOutput, file: string): string {
  return out.conflict === 'rej' ? `${file}.rej` : file;
}

/** A failed preview (or update) in plain words, and the field it is about. */
export interface UpdateProblem {
  field: 'version' | 'project';
  /** What it means for the person, first. */
  plain: string;
}

/**
 * What the bootstrapper's refusal means ("… was not updated: … has no ref 'v9' …"), said plainly,
 * at the field it is about: a version it cannot use at the version, everything else at the project.
 * The agent's own words are shown beside it, so one not recognised here is still said.
 */
export function updateProblemOf(error: string): UpdateProblem {
  const ref = /has no ref '([^']*)'|vcs_ref '([^']*)' is not a git ref/.exec(error);
  if (ref) {
    const name = ref[1] ?? ref[2] ?? '';
    return { field: 'version', plain: `The template has no version “${name}”: give one of its tags, branches or commits, or leave it blank for the latest.` };
  }
  const down = /downgrading from (\S+) to (\S+) is not supported/.exec(error);
  if (down) {
    return { field: 'version', plain: `${down[2]} is older than the project's version ${down[1]}: a project cannot be taken back to an older version of its template.` };
  }
  if (/at the recorded version .* cannot be checked out/.test(error)) {
    return { field: 'project', plain: 'The version of the template this project was made from is no longer in the template (its tag or commit was deleted), so what you changed since cannot be worked out.' };
  }
  if (/was not made from a template|records no `_src_path`/.test(error)) {
    return { field: 'project', plain: 'This folder was not made from a copier template (it has no answers file naming one), so there is no template to update it from.' };
  }
  if (/records no `_commit`/.test(error)) {
    return { field: 'project', plain: 'This project was made from a template that was not a git repository, so the version it came from cannot be found again.' };
  }
  if (/has changes not committed/.test(error)) {
    return { field: 'project', plain: 'The project has changes that are not committed: commit them (or put them aside with git stash -u), then try again.' };
  }
  if (/is not in a git repository|has no commit yet/.test(error)) {
    return { field: 'project', plain: 'The project is not committed in git: an update is applied as a diff you review, so commit it first.' };
  }
  if (/the template \S+ is gone/.test(error)) {
    return { field: 'project', plain: 'The template this project was made from is no longer where it was.' };
  }
  if (/the template \S+ is not a git repository/.test(error)) {
    return { field: 'project', plain: 'The template is not a git repository, so it has no versions to update to.' };
  }
  return { field: 'project', plain: 'The update could not be worked out.' };
}
