import { redactUrl, resolveUrl } from './http-probe';

describe('resolveUrl', () => {
  const base = 'https://vc.example/folder/web01/web01-000001.vmdk?dcPath=DC%201&dsName=ds1';

  it("resolves a descriptor's file beside it and keeps vSphere's query", () => {
    expect(resolveUrl('web01-flat.vmdk', base)).toBe(
      'https://vc.example/folder/web01/web01-flat.vmdk?dcPath=DC%201&dsName=ds1',
    );
    expect(resolveUrl('../base/base.vmdk', base)).toBe(
      'https://vc.example/folder/base/base.vmdk?dcPath=DC%201&dsName=ds1',
    );
    expect(resolveUrl('web 01 (1).vmdk', base)).toBe(
      'https://vc.example/folder/web01/web%2001%20(1).vmdk?dcPath=DC%201&dsName=ds1',
    );
  });

  it('takes an absolute URL as it is', () => {
    expect(resolveUrl('https://other.example/x.vmdk?a=1', base)).toBe('https://other.example/x.vmdk?a=1');
  });
});

describe('redactUrl', () => {
  it('drops the user, the query and the fragment', () => {
    expect(redactUrl('https://u:p@vc.example:8443/folder/a.vmdk?token=secret#x')).toBe(
      'https://vc.example:8443/folder/a.vmdk',
    );
  });
});
