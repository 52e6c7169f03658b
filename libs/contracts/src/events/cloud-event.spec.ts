import { eventSubjectOf, filterSubjectForTypePrefix } from './cloud-event';

describe('eventSubjectOf', () => {
  it('maps a type to its JetStream subject', () => {
    expect(eventSubjectOf('ferry.vm-operator.template.created')).toBe('events.vm-operator.template.created');
  });

  it('refuses a type outside the ferry namespace', () => {
    expect(() => eventSubjectOf('other.thing.created')).toThrow(/must start with "ferry."/);
  });
});

describe('filterSubjectForTypePrefix', () => {
  it.each([
    [undefined, 'events.>'],
    ['ferry.', 'events.>'],
    ['ferry.vm', 'events.>'],
    ['ferry.vm-operator.', 'events.vm-operator.>'],
    ['ferry.vm-operator.templ', 'events.vm-operator.>'],
    ['ferry.vm-operator.template.created', 'events.vm-operator.template.>'],
    ['other.prefix', 'events.>'],
    ['ferry.*.template.', 'events.>'],
  ])('narrows %p to %p using whole tokens only', (prefix, expected) => {
    expect(filterSubjectForTypePrefix(prefix)).toBe(expected);
  });
});
