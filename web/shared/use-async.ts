/**
 * Runs a request for a view and keeps its state: loading, error (shown with a retry button by
 * ErrorBox), data. A newer run supersedes an older one, so a slow answer never overwrites a newer.
 */
import { ref, shallowRef, type Ref, type ShallowRef } from 'vue';

export interface AsyncState<T> {
  data: ShallowRef<T | null>;
  error: Ref<unknown>;
  loading: Ref<boolean>;
  run: () => Promise<T | null>;
}

export function useAsync<T>(fn: () => Promise<T>): AsyncState<T> {
  const data = shallowRef<T | null>(null);
  const error = ref<unknown>(null);
  const loading = ref(false);
  let seq = 0;
  async function run(): Promise<T | null> {
    const mine = ++seq;
    loading.value = true;
    error.value = null;
    try {
      const out = await fn();
      if (mine === seq) data.value = out;
      return out;
    } catch (err) {
      if (mine === seq) error.value = err;
      return null;
    } finally {
      if (mine === seq) loading.value = false;
    }
  }
  return { data, error, loading, run };
}

/** Runs an action (save, send, ...) with busy and error state. */
export function useAction<A extends unknown[], T>(fn: (...args: A) => Promise<T>) {
  const busy = ref(false);
  const error = ref<unknown>(null);
  async function run(...args: A): Promise<T | undefined> {
    busy.value = true;
    error.value = null;
    try {
      return await fn(...args);
    } catch (err) {
      error.value = err;
      return undefined;
    } finally {
      busy.value = false;
    }
  }
  return { busy, error, run };
}
