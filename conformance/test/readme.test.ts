import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

it('the README shows exactly the third-party example that test/third-party.test.ts runs', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const example = readFileSync(new URL('./third-party.test.ts', import.meta.url), 'utf8').trim();
  expect(readme).toContain(['```ts', example, '```'].join('\n'));
  const code = example.split('\n').filter((line) => line.trim() !== '');
  expect(code.length).toBeLessThanOrEqual(5);
});

it('the README shows exactly the backend template that test/template.test.ts runs', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const template = readFileSync(new URL('./template-storage.ts', import.meta.url), 'utf8');
  expect(readme).toContain(['```ts', template].join('\n'));
});
