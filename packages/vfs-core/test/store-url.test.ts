import { describe, expect, it } from 'vitest';
import {
  expectStoreUrl,
  isVfsError,
  parseByteSize,
  parseStoreUrl,
  redactStoreUrl,
  type StoreUrl,
} from '../src/index.js';

const cwd = '/work/here';
const parse = (url: string) => parseStoreUrl(url, { cwd });

/** The `invalid-argument` message parsing `url` fails with. */
function failure(url: unknown): string {
  try {
    parseStoreUrl(url as string, { cwd });
  } catch (error) {
    expect(isVfsError(error, 'invalid-argument'), String(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`${String(url)} parsed`);
}

describe('memory:', () => {
  it('parses with and without a namespace and limits', () => {
    expect(parse('memory:')).toEqual({ scheme: 'memory', href: 'memory:' });
    expect(parse('MEMORY:#scratch')).toEqual({
      scheme: 'memory',
      href: 'MEMORY:#scratch',
      namespace: 'scratch',
    });
    expect(parse('memory:?maxBytes=1MiB&maxFiles=10')).toMatchObject({
      scheme: 'memory',
      limits: { maxBytes: 1 << 20, maxFiles: 10 },
    });
  });
});

describe('sqlite:', () => {
  it('resolves relative paths against cwd and keeps absolute ones', () => {
    expect(parse('sqlite:./state.db#user-42')).toEqual({
      scheme: 'sqlite',
      href: 'sqlite:./state.db#user-42',
      path: '/work/here/state.db',
      namespace: 'user-42',
    });
    expect(parse('sqlite:state.db')).toMatchObject({ path: '/work/here/state.db' });
    expect(parse('sqlite:../up/x.db')).toMatchObject({ path: '/work/up/x.db' });
    expect(parse('sqlite:/abs/x.db#a')).toMatchObject({ path: '/abs/x.db', namespace: 'a' });
    expect(parse('sqlite:///abs/x.db#a')).toMatchObject({ path: '/abs/x.db', namespace: 'a' });
    expect(parse('sqlite://localhost/abs/x.db')).toMatchObject({ path: '/abs/x.db' });
    expect(parse('sqlite::memory:#t')).toMatchObject({ path: ':memory:', namespace: 't' });
  });

  it('percent-decodes the path and the namespace', () => {
    expect(parse('sqlite:./my%20dir/a%23b.db#user%2F42%20%C3%A9')).toMatchObject({
      path: '/work/here/my dir/a#b.db',
      namespace: 'user/42 é',
    });
  });

  it('defaults cwd to the process working directory', () => {
    expect(parseStoreUrl('sqlite:x.db')).toMatchObject({ path: `${process.cwd()}/x.db` });
  });

  it('reads limits and its own parameters', () => {
    expect(
      parse(
        'sqlite:x.db?maxBytes=64MiB&maxFiles=1k&maxFileSize=1GiB&maxPathLength=4096&chunkSize=16KiB&busyTimeout=100&synchronous=full&readOnly=true#n',
      ),
    ).toEqual({
      scheme: 'sqlite',
      href: 'sqlite:x.db?maxBytes=64MiB&maxFiles=1k&maxFileSize=1GiB&maxPathLength=4096&chunkSize=16KiB&busyTimeout=100&synchronous=full&readOnly=true#n',
      path: '/work/here/x.db',
      namespace: 'n',
      limits: { maxBytes: 64 * 2 ** 20, maxFiles: 1000, maxFileSize: 2 ** 30, maxPathLength: 4096 },
      chunkSize: 16384,
      busyTimeout: 100,
      synchronous: 'full',
      readOnly: true,
    });
  });
});

describe('postgres://', () => {
  it('splits off what this project reads and passes the rest to node-postgres', () => {
    const url = parse(
      'postgres://vfs:s3cret@db.example:5433/app?schema=files&sslmode=require&maxBytes=1G#user-42',
    );
    expect(url).toEqual({
      scheme: 'postgres',
      href: 'postgres://vfs:redacted@db.example:5433/app?schema=files&sslmode=require&maxBytes=1G#user-42',
      connectionString: 'postgres://vfs:s3cret@db.example:5433/app?sslmode=require',
      schema: 'files',
      namespace: 'user-42',
      limits: { maxBytes: 1e9 },
    });
  });

  it('accepts postgresql://, sockets and no query', () => {
    expect(parse('postgresql://localhost/db')).toMatchObject({
      scheme: 'postgres',
      connectionString: 'postgresql://localhost/db',
    });
    expect(parse('postgres:///db?host=/var/run/postgresql#n')).toMatchObject({
      connectionString: 'postgres:///db?host=/var/run/postgresql',
      namespace: 'n',
    });
    const url = parse('postgres://u@h/db?chunkSize=128KiB');
    expect(url).toMatchObject({ connectionString: 'postgres://u@h/db', chunkSize: 131072 });
    expect(url).not.toHaveProperty('namespace');
  });
});

describe('s3://', () => {
  it('reads bucket, prefix, connection and limits', () => {
    expect(
      parse(
        's3://vfs-test/sandboxes/a?endpoint=http://127.0.0.1:9000&region=us-east-1&forcePathStyle=true&maxFiles=100#user-42',
      ),
    ).toEqual({
      scheme: 's3',
      href: 's3://vfs-test/sandboxes/a?endpoint=http://127.0.0.1:9000&region=us-east-1&forcePathStyle=true&maxFiles=100#user-42',
      bucket: 'vfs-test',
      prefix: 'sandboxes/a',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      forcePathStyle: true,
      namespace: 'user-42',
      limits: { maxFiles: 100 },
    });
    expect(parse('s3://bucket')).toEqual({ scheme: 's3', href: 's3://bucket', bucket: 'bucket', prefix: '' });
    expect(parse('s3://bucket/p/')).toMatchObject({ prefix: 'p' });
  });

  it('takes credentials from the userinfo or the query, redacting the secret', () => {
    const a = parse('s3://AKIA:se%2Bc%2Fret@bucket/p');
    expect(a).toMatchObject({ credentials: { accessKeyId: 'AKIA', secretAccessKey: 'se+c/ret' } });
    expect(a.href).toBe('s3://AKIA:redacted@bucket/p');
    const b = parse('s3://bucket/p?accessKeyId=AKIA&secretAccessKey=x%2By&sessionToken=tok');
    expect(b).toMatchObject({
      credentials: { accessKeyId: 'AKIA', secretAccessKey: 'x+y', sessionToken: 'tok' },
    });
    expect(b.href).toBe('s3://bucket/p?accessKeyId=AKIA&secretAccessKey=redacted&sessionToken=redacted');
  });
});

describe('bad input', () => {
  it.each([
    ['', /missing a scheme/],
    ['./state.db', /missing a scheme \(a SQLite file is sqlite:<file>\)/],
    ['redis://localhost', /unknown scheme "redis:".*memory:, sqlite:, postgres:\/\/, s3:\/\//],
    ['memory:foo', /unexpected "foo"/],
    [
      'memory:?chunkSize=1',
      /unknown parameter "chunkSize" \(memory takes maxBytes, maxFiles, maxFileSize, maxPathLength\)/,
    ],
    ['memory:#', /empty namespace/],
    ['memory:#a%0Ab', /control characters/],
    ['sqlite:', /missing the database file/],
    ['sqlite:#ns', /missing the database file/],
    ['sqlite://host/x.db', /host in sqlite:\/\/host/],
    ['sqlite:x.db#%E0%A4%A', /malformed percent-encoding in the namespace/],
    ['sqlite:x%ZZ.db', /malformed percent-encoding in the file path/],
    ['sqlite:x.db?maxbytes=1', /unknown parameter "maxbytes" \(did you mean "maxBytes"\?\)/],
    ['sqlite:x.db?volume=1', /unknown parameter "volume" \(sqlite takes chunkSize, busyTimeout/],
    ['sqlite:x.db?maxBytes=1&maxBytes=2', /given twice/],
    ['sqlite:x.db?maxBytes=', /has no value/],
    ['sqlite:x.db?maxBytes=-1', /maxBytes=-1 is not a non-negative integer/],
    ['sqlite:x.db?maxBytes=1.5MiB', /is not a non-negative integer/],
    ['sqlite:x.db?maxBytes=12XB', /is not a non-negative integer/],
    ['sqlite:x.db?maxBytes=99999999999TiB', /is not a non-negative integer/],
    ['sqlite:x.db?synchronous=off', /synchronous must be "full" or "normal"/],
    ['sqlite:x.db?readOnly=yes', /readOnly must be true or false/],
    ['postgres:localhost/db', /missing "\/\/"/],
    ['postgres://u:pw@h/db?Schema=x', /did you mean "schema"/],
    ['postgres://u:pw@h/db?schema=', /has no value/],
    ['postgres://u:pw@h:99999/db', /not a valid URL/],
    ['s3:bucket', /missing "\/\/"/],
    ['s3://', /missing the bucket/],
    ['s3:///prefix', /missing the bucket/],
    ['s3://127.0.0.1:9000/bucket', /is not a bucket name \(the endpoint goes in \?endpoint=\)/],
    ['s3://KEY@bucket', /need both parts/],
    ['s3://K:S@bucket?accessKeyId=a&secretAccessKey=b', /both in the userinfo and in the query/],
    ['s3://bucket?accessKeyId=a', /go together/],
    ['s3://bucket?endpoint=127.0.0.1:9000', /endpoint must be an http/],
    ['s3://bucket?forcePathStyle=maybe', /forcePathStyle must be true or false/],
    ['s3://bucket?prefix=x', /unknown parameter "prefix"/],
  ])('%s', (url, message) => {
    const text = failure(url);
    expect(text).toMatch(message);
    expect(text).toMatch(/^invalid-argument: store URL ".*": .*; expected /);
  });

  it('names the expected form of the scheme', () => {
    expect(failure('sqlite:')).toMatch(/expected sqlite:<file>#<namespace>, e\.g\. sqlite:\.\/state\.db/);
    expect(failure('s3://')).toMatch(/expected s3:\/\/bucket\/prefix\?endpoint=/);
  });

  it('never shows a password in an error', () => {
    for (const url of [
      'postgres://u:hunter2@h/db?Schema=x',
      'postgres://u:hunter2@h:99999/db',
      's3://K:hunter2@bucket?accessKeyId=a',
      's3://bucket?accessKeyId=a&secretAccessKey=hunter2&sessionToken=hunter2&bad=1',
    ]) {
      const text = failure(url);
      expect(text).not.toContain('hunter2');
      expect(text).toContain('redacted');
    }
  });

  it('refuses what is not a string', () => {
    for (const value of [undefined, null, 42, {}]) expect(failure(value)).toMatch(/must be a string/);
  });
});

describe('redactStoreUrl', () => {
  it.each([
    ['postgres://u:p@h/db', 'postgres://u:redacted@h/db'],
    ['postgres://u:p:q@h/db#ns', 'postgres://u:redacted@h/db#ns'],
    ['postgres://u@h/db', 'postgres://u@h/db'],
    ['postgres://h/db?password=p&sslmode=x', 'postgres://h/db?password=redacted&sslmode=x'],
    ['s3://K:S@b/p?x=1', 's3://K:redacted@b/p?x=1'],
    ['sqlite:./a:b@c.db#x', 'sqlite:./a:b@c.db#x'],
    ['memory:', 'memory:'],
    ['not a url', 'not a url'],
  ])('%s', (url, redacted) => {
    expect(redactStoreUrl(url)).toBe(redacted);
  });
});

describe('parseByteSize', () => {
  it.each([
    ['0', 0],
    ['10', 10],
    ['1k', 1000],
    ['1K', 1000],
    ['2kB', 2000],
    ['3M', 3e6],
    ['1G', 1e9],
    ['1T', 1e12],
    ['1Ki', 1024],
    ['64MiB', 64 * 2 ** 20],
    ['1gib', 2 ** 30],
    ['2TiB', 2 * 2 ** 40],
    ['1.5k', undefined],
    ['k', undefined],
    ['-1', undefined],
    ['1 PB', undefined],
    ['9007199254740993', undefined],
  ])('%s', (text, value) => {
    expect(parseByteSize(text)).toBe(value);
  });
});

describe('expectStoreUrl', () => {
  it('passes a parsed URL of the scheme through and refuses another scheme', () => {
    const parsed: StoreUrl = parse('sqlite:x.db#n');
    expect(expectStoreUrl(parsed, 'sqlite')).toBe(parsed);
    expect(expectStoreUrl('sqlite:x.db#n', 'sqlite', { cwd })).toEqual(parsed);
    expect(() => expectStoreUrl('memory:', 'sqlite')).toThrow(/this backend opens sqlite URLs, not memory/);
    expect(() => expectStoreUrl(42 as never, 'sqlite')).toThrow(/must be a string/);
  });

  it('results survive structuredClone (a sync bridge passes them to its worker)', () => {
    const url = parse('s3://K:S@bucket/p?endpoint=http://h:1&maxBytes=1k#n');
    expect(structuredClone(url)).toEqual(url);
  });
});
