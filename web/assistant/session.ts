/**
 * Who is signed in, as GET /me answers (the session cookie is HttpOnly, so the page cannot read
 * it). Loaded once, refreshed after login, logout and binding.
 */
import { shallowRef } from 'vue';
import { api, HttpError, type Me } from './api';

export const me = shallowRef<Me | null>(null);
let loaded = false;

/** The member, or null when signed out; other failures are thrown to the caller. */
export async function loadMe(force = false): Promise<Me | null> {
  if (loaded && !force) return me.value;
  try {
    me.value = await api.me();
  } catch (err) {
    if (!(err instanceof HttpError && err.status === 401)) throw err;
    me.value = null;
  }
  loaded = true;
  return me.value;
}

export function forget(): void {
  me.value = null;
  loaded = true;
}
