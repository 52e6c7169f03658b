import type { Page } from '@ferry/contracts';

/**
 * Every item of a paged list, page after page: for a service that needs the whole list (a sweep, a
 * saga's lookup). `fetchPage` gets undefined for the first page, then each `next_cursor`. A reply
 * without `next_cursor` is the last page.
 */
export async function allPages<T>(
  fetchPage: (
    cursor: string | undefined,
  ) => Promise<Pick<Page<T>, 'items'> & { next_cursor?: string | null }>,
): Promise<T[]> {
  const all: T[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const page = await fetchPage(cursor);
    all.push(...page.items);
    if (!page.next_cursor) return all;
    if (seen.has(page.next_cursor)) throw new Error(`a paged list returned cursor ${page.next_cursor} twice`);
    seen.add(page.next_cursor);
    cursor = page.next_cursor;
  }
}
