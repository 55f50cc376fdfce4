import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;

/** Starts `node test/fixtures/<script> ...args` with the built package to import. */
export function startChild(script: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [fileURLToPath(new URL(`./fixtures/${script}`, import.meta.url)), ...args], {
    env: { ...process.env, VFS_SQLITE_DIST: dist },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Collects a child's output line by line; `waitFor` resolves when a line matches. */
export function lines(child: ChildProcess) {
  const seen: string[] = [];
  let stderr = '';
  let partial = '';
  const waiters: { test: (line: string) => boolean; resolve: () => void }[] = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      seen.push(line);
      for (const w of [...waiters]) {
        if (w.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    seen,
    stderr: () => stderr,
    exited,
    waitFor(test: (line: string) => boolean): Promise<void> {
      if (seen.some(test)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.push({ test, resolve });
        void exited.then(({ code, signal }) =>
          reject(new Error(`child exited (${code ?? signal}) before the expected line; stderr: ${stderr}`)),
        );
      });
    },
  };
}
