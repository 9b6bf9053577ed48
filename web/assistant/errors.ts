/** The global error boundary's state: the last error nothing else handled. */
import { ref } from 'vue';

export const globalError = ref<unknown>(null);

/** Records an unhandled error so App.vue shows it (and logs it for developers). */
export function reportError(err: unknown): void {
  // Aborted requests (a page left while loading) are not errors.
  if (err instanceof DOMException && err.name === 'AbortError') return;
  console.error(err);
  globalError.value = err;
}
