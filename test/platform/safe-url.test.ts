import { describe, expect, it } from 'vitest';
import { escapeMalformedPath } from '../../src/platform/http/safe-url.js';

describe('escapeMalformedPath', () => {
  it('escapes every `%` of a path that does not decode, and leaves well-formed paths and every query as they came', () => {
    expect(escapeMalformedPath('/v1/users/%ZZ')).toBe('/v1/users/%25ZZ');
    expect(escapeMalformedPath('/a/%C3%28?x=%ZZ')).toBe('/a/%25C3%2528?x=%ZZ');
    expect(escapeMalformedPath('/a/%C3%A9?x=%ZZ')).toBe('/a/%C3%A9?x=%ZZ');
    expect(escapeMalformedPath('/api/getUserInfo?token=%ZZ%')).toBe('/api/getUserInfo?token=%ZZ%');
    expect(escapeMalformedPath('/api/getUserInfo?token=abc')).toBe('/api/getUserInfo?token=abc');
    expect(escapeMalformedPath('/%')).toBe('/%25');
    expect(escapeMalformedPath('/x%?%')).toBe('/x%25?%');
    expect(escapeMalformedPath('/')).toBe('/');
    expect(escapeMalformedPath('/a?b?%ZZ')).toBe('/a?b?%ZZ');
  });
});
