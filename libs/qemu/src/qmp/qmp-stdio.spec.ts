import { parseQmpReplies } from './qmp-stdio';

describe('parseQmpReplies', () => {
  it('maps replies and errors by id, skipping the greeting and events', () => {
    const text = [
      '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}}',
      '{"return": {}, "id": "caps"}',
      '{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "SHUTDOWN", "data": {}}',
      '{"return": {"enabled": false, "present": true}, "id": "kvm"}',
      '{"error": {"class": "GenericError", "desc": "KVM not enabled"}, "id": "sev"}',
    ].join('\n');
    expect(parseQmpReplies(text)).toEqual(
      new Map<string, unknown>([
        ['caps', { return: {} }],
        ['kvm', { return: { enabled: false, present: true } }],
        ['sev', { error: { class: 'GenericError', desc: 'KVM not enabled' } }],
      ]),
    );
  });

  it('skips lines that are not JSON', () => {
    const text = 'qemu-system-x86_64: warning: something\n{"return": [], "id": "a"}\n{"return": {}}\n';
    expect(parseQmpReplies(text)).toEqual(new Map([['a', { return: [] }]]));
  });
});
