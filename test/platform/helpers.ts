/** Small helpers shared by the platform tests. */

/** Polls until a truthy value (test/helpers/wait.ts: vitest's vi.waitFor). */
export { waitFor } from '../helpers/wait.js';
