#!/usr/bin/env node
// Type-checks every ```ts block of every README against the built packages, so no README shows
// code that does not compile. Blocks importing relative modules ('./...') belong to a test that
// runs them verbatim and are skipped here. Runs inside bench/, which depends on every package.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const readmes = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.') || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name === 'README.md') readmes.push(path);
  }
};
walk(root);

const out = join(root, 'bench', '.readme-check');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const files = [];
for (const readme of readmes) {
  const text = readFileSync(readme, 'utf8');
  let n = 0;
  for (const match of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const code = match[1];
    if (/from '\.\.?\//.test(code)) continue;
    const file = `${relative(root, readme).replace(/[/.]/g, '_')}_${n++}.ts`;
    writeFileSync(join(out, file), `${code}\nexport {};\n`);
    files.push(file);
  }
}
writeFileSync(
  join(out, 'tsconfig.json'),
  JSON.stringify({
    extends: '../../tsconfig.base.json',
    compilerOptions: { noEmit: true, noUnusedLocals: false, types: ['node'] },
    files,
  }),
);
try {
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', out], {
    stdio: 'inherit',
  });
  console.log(`README examples: ${files.length} passed, 0 failed`);
} catch {
  console.log('README examples: type errors above (file names say which README)');
  process.exitCode = 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
