/** Types of bin/cli-bundle.js, which runs before any TypeScript loader and so is plain JavaScript. */
export function cliBundle(root?: string, cache?: string): Promise<string | undefined>;
