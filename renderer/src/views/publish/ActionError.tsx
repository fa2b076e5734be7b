import { useEffect, useRef } from 'react';

/**
 * The error of an action, shown beside its buttons and scrolled into sight when it appears: on a long
 * panel the buttons can sit far below its top, where an error shown there went unseen.
 */
export function ActionError({ message, testId }: { message: string | null; testId: string }) {
  const shown = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    if (message !== null) shown.current?.scrollIntoView({ block: 'nearest' });
  }, [message]);
  if (message === null) return null;
  return (
    <p className="error" role="alert" data-testid={testId} ref={shown}>
      {message}
    </p>
  );
}
