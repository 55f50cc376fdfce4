/** Query parameters of a store URL (`maxBytes`, `chunkSize`, ...); `undefined` ones are left out. */
export type StoreUrlParams = Record<string, string | number | boolean | undefined>;

// Only what would end or split a parameter is encoded, so printed URLs stay readable.
const encode = (value: string) => value.replace(/[%&#=+?\s]/g, (c) => encodeURIComponent(c));

/** `base` (no `#`) with `params` added to its query, then `#fragment` when given. */
export function withParams(base: string, params: StoreUrlParams = {}, fragment?: string): string {
  const query = Object.entries(params)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${encode(name)}=${encode(String(value))}`)
    .join('&');
  const url = query === '' ? base : `${base}${base.includes('?') ? '&' : '?'}${query}`;
  return fragment === undefined ? url : `${url}#${encodeURIComponent(fragment)}`;
}

/** The variable `name` of `env`, or an error saying who sets it. */
export function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: start the server first (startPostgres/startS3, or a test globalSetup)`,
    );
  }
  return value;
}
