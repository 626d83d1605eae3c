import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { CONSENT_CHOICES } from './ConsentModal';
import { dialogKeyDown, useFocusReturn } from './dialog';
import { WorkspaceRootForm } from './WorkspaceRootForm';

const STEPS: { title: string; body: ReactNode }[] = [
  {
    title: 'What HyperAgent does',
    body: (
      <>
        <p>
          HyperAgent runs small agents on this computer for you — for instance one that sets up a new project from a
          template. You start a task, an agent takes it, and you follow its progress and logs here.
        </p>
        <p>Each agent runs confined by the kernel: it works in its task&apos;s folder and nowhere else.</p>
      </>
    ),
  },
  {
    title: 'Local only by default',
    body: (
      <>
        <p>
          Nothing leaves this machine unless you grant a task a host to connect to. Every connection goes through
          HyperAgent and is written to the audit log, as is every permission given.
        </p>
        <p>Secrets (tokens, passwords) are kept in your system&apos;s keychain, never shown back.</p>
      </>
    ),
  },
  {
    title: 'Where workspaces live',
    body: (
      <>
        <p>
          Each task works in its own folder under the workspace root. Finished projects stay there for you to open.
          Choose the folder now, or keep the one below; Settings can change it later.
        </p>
        <WorkspaceRootForm />
      </>
    ),
  },
  {
    title: 'How permissions work',
    body: (
      <>
        <p>
          When an agent needs something outside its folder — reading a file, connecting to a host — it asks, and you
          answer:
        </p>
        <ul>
          {CONSENT_CHOICES.map((c) => (
            <li key={c.answer}>{c.label}</li>
          ))}
        </ul>
        <p>Unanswered requests are denied. The rules you keep are listed in Settings, where you can revoke them.</p>
      </>
    ),
  },
];

/**
 * The introduction, a few short screens in a modal dialog: the focus stays inside it, Escape or
 * "Skip introduction" closes it (and `onClose` remembers that it was seen); its last screen ends
 * on "Create your first project", which opens the New project form.
 */
export function Onboarding({ onClose }: { onClose: () => void }) {
  const [step, setStep] = useState(0);
  const titleId = useId();
  const dialog = useRef<HTMLDivElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  // Back where the person was when it closes.
  useFocusReturn();
  // Each screen is read from its title.
  useEffect(() => heading.current?.focus(), [step]);


  const current = STEPS[step] ?? STEPS[0]!;
  const isLast = step === STEPS.length - 1;
  return (
    <div className="modal-backdrop">
      <div
        ref={dialog}
        className="modal onboarding"
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        data-testid="onboarding"
        data-step={step + 1}
        onKeyDown={(e) => dialogKeyDown(e, dialog.current, onClose)}
      >
        <p className="help" data-testid="onboarding-step">
          Welcome to HyperAgent · {step + 1} of {STEPS.length}
        </p>
        <h2 id={titleId} ref={heading} tabIndex={-1}>
          {current.title}
        </h2>
        {current.body}
        <div className="actions">
          <button type="button" onClick={() => setStep((s) => s - 1)} disabled={step === 0}>
            Back
          </button>
          {isLast ? (
            <button
              type="button"
              className="primary"
              data-testid="onboarding-done"
              onClick={() => {
                onClose();
                window.location.hash = '#/new';
              }}
            >
              Create your first project
            </button>
          ) : (
            <button type="button" className="primary" data-testid="onboarding-next" onClick={() => setStep((s) => s + 1)}>
              Next
            </button>
          )}
          {!isLast && (
            <button type="button" className="link" data-testid="onboarding-skip" onClick={onClose}>
              Skip introduction
            </button>
          )}
        </div>
      </div>
    </div>
  );
}
