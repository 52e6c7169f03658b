import { describe, expect, it } from 'vitest';
import { actionsFor } from './VmsView';
import { VIEWS, viewOf } from './routes';

describe('navigation and VM actions', () => {
  it('opens the view the hash names, and the first view for anything else', () => {
    expect(viewOf('#/failover').path).toBe('failover');
    expect(viewOf('#/failover?job=1').path).toBe('failover');
    expect(viewOf('').path).toBe(VIEWS[0]!.path);
    expect(viewOf('#/nope').path).toBe(VIEWS[0]!.path);
  });

  it('offers a VM only the actions its state takes', () => {
    expect(actionsFor('running')).toEqual(['stop', 'restart']);
    expect(actionsFor('stopped')).toEqual(['start']);
    expect(actionsFor('error')).toEqual(['start']);
    expect(actionsFor('starting')).toEqual([]);
  });
});
