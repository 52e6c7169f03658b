import { readFile, stat } from 'node:fs/promises';
import { SessionFiles } from './session-files';

describe('SessionFiles', () => {
  it('keeps the cookie and the CA in a private directory, readable by us alone, and removes them on close', async () => {
    const files = await SessionFiles.create({ caPem: 'PEM', renewSeconds: 30 });
    expect(files.http.cookieFile).toBeUndefined();
    await files.setCookie('vmware_soap_session="a"');
    const { cookieFile, caFile, renewSeconds } = files.http;
    expect(renewSeconds).toBe(30);
    expect(await readFile(cookieFile!, 'utf8')).toBe('vmware_soap_session="a"');
    expect(await readFile(caFile!, 'utf8')).toBe('PEM');
    expect((await stat(files.dir)).mode & 0o777).toBe(0o700);
    expect((await stat(cookieFile!)).mode & 0o777).toBe(0o600);
    expect((await stat(caFile!)).mode & 0o777).toBe(0o600);

    await files.setCookie('vmware_soap_session="b"');
    expect(await readFile(cookieFile!, 'utf8')).toBe('vmware_soap_session="b"');
    await files.close();
    await expect(stat(files.dir)).rejects.toThrow(/ENOENT/);
  });

  it('names no CA file when it has none', async () => {
    const files = await SessionFiles.create();
    try {
      expect(files.http).toEqual({});
    } finally {
      await files.close();
    }
  });
});
