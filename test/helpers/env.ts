/**
 * Saves the variables `names` of process.env, for a test that sets its own (temporary AWS files, never
 * ~/.aws); the function it returns puts each back as it was, removed if it was unset.
 */
export function saveEnv(names: readonly string[]): () => void {
  const saved = new Map(names.map((name) => [name, process.env[name]]));
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** Saves the variables `names` as saveEnv does and removes them, so the test starts from none of them. */
export function clearEnv(names: readonly string[]): () => void {
  const restore = saveEnv(names);
  for (const name of names) delete process.env[name];
  return restore;
}
