import type { Page } from '@ferry/contracts';
import { pageLimit } from '@ferry/contracts';
import type { PageQuery } from '@ferry/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * What every paged list route says about its pages (apps/gateway/README.md): the body stays the bare
 * array clients read today, and a next page is named by `Link: <…>; rel="next"` (this URL with its
 * filters, `cursor` and `limit`) and `X-Next-Cursor`. The last page has neither header.
 */
export function pageItems<T>(req: FastifyRequest, reply: FastifyReply, query: PageQuery, page: Page<T>): T[] {
  if (page.next_cursor) {
    const url = new URL(req.url, 'http://gateway');
    url.searchParams.set('cursor', page.next_cursor);
    url.searchParams.set('limit', String(pageLimit(query)));
    void reply
      .header('link', `<${url.pathname}${url.search}>; rel="next"`)
      .header('x-next-cursor', page.next_cursor);
  }
  return page.items;
}

/** The OpenAPI headers of a paged list's 200. */
export const PAGE_HEADERS = {
  Link: {
    description:
      'On every page but the last: `<{this URL with cursor and limit}>; rel="next"`, the next page.',
    schema: { type: 'string' },
  },
  'X-Next-Cursor': {
    description: 'On every page but the last: the `cursor` of the next page.',
    schema: { type: 'string' },
  },
};

/** The OpenAPI description of a paged list. */
export const PAGED_LIST =
  'One page: `limit` items (default 100, at most 1000) after `cursor`. The body is the array of items; when more follow, `Link: <…>; rel="next"` and `X-Next-Cursor` name the next page. A `cursor` that is not a `next_cursor` of this list, or a `limit` outside 1–1000, is 400.';

/** The OpenAPI description of a paged list inside an object body (the object gains `next_cursor`). */
export const PAGED_OBJECT =
  'One page: `limit` items (default 100, at most 1000) after `cursor`; `next_cursor` names the next page (null on the last), as do `Link: <…>; rel="next"` and `X-Next-Cursor`. A `cursor` that is not a `next_cursor` of this list, or a `limit` outside 1–1000, is 400.';
