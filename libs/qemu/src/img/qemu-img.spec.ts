import { lastProgress } from './qemu-img';

describe('lastProgress', () => {
  it('reads the last share qemu-img convert -p printed, across carriage returns', () => {
    expect(lastProgress('    (0.00/100%)\r    (12.50/100%)\r    (37.01/100%)\r')).toBe(37.01);
    expect(lastProgress('    (100.00/100%)\r\n')).toBe(100);
  });

  it('finds none in text without progress', () => {
    expect(lastProgress('')).toBeUndefined();
    expect(lastProgress('qemu-img: Could not open')).toBeUndefined();
  });
});
