import { globMatcher, globToRegExp, isVfsError, matchGlob } from '@eryx/vfs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const cases: [pattern: string, path: string, matches: boolean][] = [
  // literals, leading slash optional on either side
  ['a/b.txt', '/a/b.txt', true],
  ['/a/b.txt', '/a/b.txt', true],
  ['a/b.txt', 'a/b.txt', true],
  ['a/b.txt', '/a/b.txtx', false],
  ['a/b.txt', '/x/a/b.txt', false],
  ['a.b', '/aXb', false],
  ['(x)+$', '/(x)+$', true],
  // * stays within a segment and matches dotfiles
  ['*.env', '/.env', true],
  ['*.env', '/prod.env', true],
  ['*.env', '/app/prod.env', false],
  ['a/*', '/a/b', true],
  ['a/*', '/a/b/c', false],
  ['a/*', '/a', false],
  ['*', '/anything', true],
  ['*', '/a/b', false],
  ['a*b*c', '/aXXbYYc', true],
  ['a*b*c', '/a/b/c', false],
  ['a***b', '/aZb', true],
  // ?
  ['?.txt', '/a.txt', true],
  ['?.txt', '/ab.txt', false],
  ['a?b', '/a/b', false],
  ['??', '/日本', true],
  // ** as a whole segment
  ['**', '/a', true],
  ['**', '/a/b/c', true],
  ['**/*.log', '/x.log', true],
  ['**/*.log', '/a/b/c/x.log', true],
  ['**/*.log', '/a/b/c/x.logs', false],
  ['a/**', '/a', true],
  ['a/**', '/a/b/c', true],
  ['a/**', '/ab/c', false],
  ['a/**/b', '/a/b', true],
  ['a/**/b', '/a/x/y/b', true],
  ['a/**/b', '/a/x/y/bb', false],
  ['a/**/b', '/ab', false],
  ['**/secrets/**', '/x/secrets/y/z', true],
  ['**/secrets/**', '/secrets', true],
  ['**/secrets/**', '/x/secretsy/z', false],
  ['a**b', '/aXXb', true],
  ['a**b', '/a/b', false],
  ['**/**/x', '/x', true],
  // character classes
  ['[abc].txt', '/b.txt', true],
  ['[abc].txt', '/d.txt', false],
  ['[a-c]x', '/bx', true],
  ['[a-c]x', '/dx', false],
  ['[!a-c]x', '/dx', true],
  ['[!a-c]x', '/ax', false],
  ['[^a-c]x', '/dx', true],
  ['[]]x', '/]x', true],
  ['[!]]x', '/]x', false],
  ['[!]]x', '/ax', true],
  ['[a-]x', '/-x', true],
  ['[\\]a]x', '/]x', true],
  ['a[!x]b', '/a/b', false],
  ['[*?]', '/*', true],
  ['[*?]', '/a', false],
  ['[é-ë]', '/ê', true],
  ['[', '/[', true],
  ['a[b', '/a[b', true],
  // braces
  ['{a,b}.txt', '/a.txt', true],
  ['{a,b}.txt', '/b.txt', true],
  ['{a,b}.txt', '/c.txt', false],
  ['{src,test}/**/*.{ts,js}', '/test/x/y.js', true],
  ['{src,test}/**/*.{ts,js}', '/lib/x/y.js', false],
  ['{a,{b,c}d}', '/cd', true],
  ['{a,{b,c}d}', '/c', false],
  ['x{,.bak}', '/x', true],
  ['x{,.bak}', '/x.bak', true],
  ['{a}', '/{a}', true],
  ['{a}', '/a', false],
  ['{a,b', '/{a,b', true],
  ['{a/b,c}', '/a/b', true],
  ['[{]a,b}', '/{a,b}', true], // the class holds the brace: no brace set
  ['[{]', '/{', true],
  // escapes
  ['\\*', '/*', true],
  ['\\*', '/a', false],
  ['\\{a,b\\}', '/{a,b}', true],
  ['a\\?', '/a?', true],
  ['a\\?', '/ab', false],
];

describe('glob matcher', () => {
  for (const [pattern, path, expected] of cases) {
    it(`${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(path)}`, () => {
      expect(matchGlob(pattern, path)).toBe(expected);
    });
  }

  it('a matcher is true when any pattern matches', () => {
    const match = globMatcher(['*.log', 'secrets/**']);
    expect(match('/a.log')).toBe(true);
    expect(match('/secrets/x/y')).toBe(true);
    expect(match('/a.txt')).toBe(false);
    expect(globMatcher([])('/a')).toBe(false);
  });

  it('refuses malformed patterns with invalid-argument', () => {
    for (const bad of ['[z-a]', 'a\\', '{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}{o,p}{q,r}{s,t}{u,v}']) {
      let caught: unknown;
      try {
        globToRegExp(bad);
      } catch (error) {
        caught = error;
      }
      expect(isVfsError(caught, 'invalid-argument'), bad).toBe(true);
    }
    expect(() => globToRegExp(3 as unknown as string)).toThrow(/glob must be a string/);
  });

  const segment = fc.string({ minLength: 1, maxLength: 6 }).filter((s) => !s.includes('/'));
  const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`);
  const literal = (s: string) => s.replace(/[\\*?[\]{}]/g, '\\$&');

  it('an escaped literal matches exactly itself (property)', () => {
    fc.assert(
      fc.property(path, path, (a, b) => {
        expect(matchGlob(literal(a), a)).toBe(true);
        expect(matchGlob(literal(a), b)).toBe(a === b);
      }),
      { numRuns: 500 },
    );
  });

  it('* matches every single segment, ** every path, **/x every path ending in x (property)', () => {
    fc.assert(
      fc.property(path, segment, (p, last) => {
        const segments = p.slice(1).split('/');
        expect(matchGlob('*', p)).toBe(segments.length === 1);
        expect(matchGlob('**', p)).toBe(true);
        expect(matchGlob(`**/${literal(last)}`, `${p}/${last}`)).toBe(true);
        expect(matchGlob(`${literal(segments[0]!)}/**`, p)).toBe(true);
        expect(matchGlob(segments.map(() => '?*').join('/'), p)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('{a,b} matches what a or b matches (property)', () => {
    const piece = fc.constantFrom('a', 'b', '*', '?', '[ab]', '**', 'x/y', 'x/*');
    const pattern = fc.array(piece, { minLength: 1, maxLength: 3 }).map((p) => p.join(''));
    const target = fc
      .array(fc.constantFrom('a', 'b', 'x', 'y', '/'), { minLength: 1, maxLength: 6 })
      .map((p) => `/${p.join('')}`)
      .filter((p) => !p.includes('//') && !p.endsWith('/'));
    fc.assert(
      fc.property(pattern, pattern, target, (a, b, p) => {
        expect(matchGlob(`{${a},${b}}`, p)).toBe(matchGlob(a, p) || matchGlob(b, p));
      }),
      { numRuns: 1000 },
    );
  });
});
