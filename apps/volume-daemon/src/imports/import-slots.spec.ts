import { ImportSlots } from './import-slots';

describe('ImportSlots', () => {
  it('lets `size` imports run and queues the rest in order', async () => {
    const slots = new ImportSlots(2);
    const a = await slots.acquire();
    const b = await slots.acquire();
    const order: string[] = [];
    const c = slots.acquire().then((r) => (order.push('c'), r));
    const d = slots.acquire().then((r) => (order.push('d'), r));
    await Promise.resolve();
    expect(order).toEqual([]);
    expect(slots.busy).toBe(2);
    a();
    a(); // twice is once
    const releaseC = await c;
    expect(order).toEqual(['c']);
    b();
    const releaseD = await d;
    expect(order).toEqual(['c', 'd']);
    releaseC();
    releaseD();
    expect(slots.busy).toBe(0);
  });

  it('drops a waiter whose signal aborts, without losing its turn for the others', async () => {
    const slots = new ImportSlots(1);
    const held = await slots.acquire();
    const abort = new AbortController();
    const gone = slots.acquire(abort.signal);
    const next = slots.acquire();
    abort.abort(new Error('shutting down'));
    await expect(gone).rejects.toThrow('shutting down');
    held();
    const release = await next;
    expect(slots.busy).toBe(1);
    release();
    expect(slots.busy).toBe(0);
  });
});
