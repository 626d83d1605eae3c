import { Diff } from '../../components/Diff';
import { Untrusted } from '../../components/Untrusted';
import type { Task } from '../../ipc';
import { OpenAt } from './OpenAt';
import type { FileChange } from './shapes';

/** Longest diff opened by default, in characters (a bigger one stays folded until asked). */
const OPEN_DIFF_CHARS = 20_000;

/** Files a task wrote (or would write): each with its state and its diff (or its content). */
export function FilesView({ task, files }: { task: Task; files: FileChange[] }) {
  return (
    <section aria-label="Files" data-testid="files-view">
      <h3>Files</h3>
      <ul className="plain">
        {files.map((f) => (
          <li key={f.path} data-testid="file-row" data-state={f.state}>
            {f.state && (
              <span className={`badge file-${f.state}`}>
                <Untrusted text={f.state} />
              </span>
            )}{' '}
            {task.workspace && !f.path.startsWith('/') ? (
              <OpenAt taskId={task.id} file={f.path} line={1} />
            ) : (
              <code>
                <Untrusted text={f.path} />
              </code>
            )}
            {(f.diff || f.content) && (
              <details open={(f.diff || f.content).length < OPEN_DIFF_CHARS}>
                <summary>{f.diff ? 'Diff' : 'Content'}</summary>
                {f.diff ? (
                  <Diff text={f.diff} testId="file-diff" />
                ) : (
                  <pre className="hint">
                    <Untrusted text={f.content} multiline />
                  </pre>
                )}
              </details>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
