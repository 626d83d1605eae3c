import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { Onboarding } from '../components/Onboarding';
import { useFeedStatus } from './feed';

// The first-run introduction: shown once per browser (until `ONBOARDED_KEY` is in localStorage),
// and again whenever Settings' "Show introduction" asks for it.

export const ONBOARDED_KEY = 'hyperagent.onboarded';

// Storage can be missing or refuse (private windows, blocked cookies): then the introduction is
// shown each start rather than breaking the app.
function onboarded(): boolean {
  try {
    return window.localStorage.getItem(ONBOARDED_KEY) !== null;
  } catch {
    return false;
  }
}

function rememberOnboarded() {
  try {
    window.localStorage.setItem(ONBOARDED_KEY, new Date().toISOString());
  } catch {
    // Not remembered: shown again next time.
  }
}

const ShowIntroduction = createContext<(() => void) | null>(null);

/** Inside `<FeedProvider>`: the introduction waits while the browser is not signed in (the sign-in
 * notice is what matters then, and a dialog over it would hide it). */
export function OnboardingProvider({ children }: { children: ReactNode }) {
  const [open, setOpen] = useState(() => !onboarded());
  const signedOut = useFeedStatus().error?.code === 'unauthenticated';
  const show = useCallback(() => setOpen(true), []);
  const close = useCallback(() => {
    rememberOnboarded();
    setOpen(false);
  }, []);
  const value = useMemo(() => show, [show]);
  return (
    <ShowIntroduction.Provider value={value}>
      {children}
      {open && !signedOut && <Onboarding onClose={close} />}
    </ShowIntroduction.Provider>
  );
}

/** Opens the introduction again (a no-op outside `<OnboardingProvider>`). */
export function useShowIntroduction(): () => void {
  return useContext(ShowIntroduction) ?? noop;
}

const noop = () => {};
