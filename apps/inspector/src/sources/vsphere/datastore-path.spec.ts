import { datastoreFileUrl, parseDatastorePath } from './datastore-path';

describe('parseDatastorePath', () => {
  it('splits `[datastore] path`', () => {
    expect(parseDatastorePath('[LocalDS_0] web01/web01.vmdk')).toEqual({
      datastore: 'LocalDS_0',
      path: 'web01/web01.vmdk',
    });
    expect(parseDatastorePath('[ds 1]/a b/c.vmdk')).toEqual({ datastore: 'ds 1', path: 'a b/c.vmdk' });
  });

  it('refuses what names no file on a datastore', () => {
    for (const text of ['', 'web01.vmdk', '[LocalDS_0]', '[LocalDS_0]   ', '[] a.vmdk'])
      expect(parseDatastorePath(text)).toBeNull();
  });
});

describe('datastoreFileUrl', () => {
  it('builds the /folder URL with dcPath and dsName', () => {
    const file = parseDatastorePath('[LocalDS_0] web01/web01.vmdk')!;
    expect(datastoreFileUrl('https://vc.example.com', file, 'DC0')).toBe(
      'https://vc.example.com/folder/web01/web01.vmdk?dcPath=DC0&dsName=LocalDS_0',
    );
  });

  it('percent-encodes each path segment and each query value, keeping the slashes between segments', () => {
    const file = parseDatastorePath('[SAN #1 & co] my vm?/disk%1#a.vmdk')!;
    const url = datastoreFileUrl('https://127.0.0.1:8989/', file, 'Folder 1/DC&0');
    expect(url).toBe(
      'https://127.0.0.1:8989/folder/my%20vm%3F/disk%251%23a.vmdk?dcPath=Folder%201%2FDC%260&dsName=SAN%20%231%20%26%20co',
    );
    const parsed = new URL(url);
    expect(decodeURIComponent(parsed.pathname)).toBe('/folder/my vm?/disk%1#a.vmdk');
    expect(parsed.searchParams.get('dcPath')).toBe('Folder 1/DC&0');
    expect(parsed.searchParams.get('dsName')).toBe('SAN #1 & co');
  });
});
