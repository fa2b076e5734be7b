/**
 * Repeats an interrupt every 50 ms while a call still runs on its connection. DuckDB stops only the
 * statement running when an interrupt comes and drops one that comes while none runs (between two of the
 * call's statements, or as one is about to start), so a single interrupt could leave the call running on.
 */
export interface RepeatedInterrupt {
  /** Starts repeating while `stillRunning()`; false when it already repeats. */
  repeat(stillRunning: () => boolean): boolean;
  /** Stops repeating: before the next call starts on the connection, which no interrupt may reach. */
  stop(): void;
}

export function createRepeatedInterrupt(interrupt: () => void): RepeatedInterrupt {
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    repeat(stillRunning) {
      if (timer !== undefined) return false;
      timer = setInterval(() => {
        if (stillRunning()) interrupt();
      }, 50);
      timer.unref();
      return true;
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
