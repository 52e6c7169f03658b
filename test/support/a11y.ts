import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

/** What an audit found on one page: each rule broken, with the elements that break it. */
export interface A11yFinding {
  rule: string;
  impact: string | null;
  help: string;
  targets: string[];
}

let axeSource: string | undefined;

/**
 * Runs axe-core (Deque's accessibility engine, the one Lighthouse uses) in the page against WCAG 2.0
 * and 2.1, levels A and AA, and returns every rule broken; an empty list is a pass.
 */
export async function auditA11y(page: Page): Promise<A11yFinding[]> {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated, not added as a script tag: the console's CSP rightly refuses inline scripts.
  // Browser-side code is passed as text: this project's types have no DOM.
  await page.evaluate(axeSource);
  return page.evaluate<A11yFinding[]>(`(async () => {
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
      rule: v.id,
      impact: v.impact ?? null,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
    }));
  })()`);
}

/**
 * How far the page reaches past the window's right edge, in CSS pixels (0: no sideways scrolling):
 * the document's overflow, or that of any box that scrolls sideways (PatternFly's main area scrolls
 * inside the page, so the document alone says nothing), but a `<pre>`, which scrolls by design.
 */
export function overflowX(page: Page): Promise<number> {
  return page.evaluate<number>(`(() => {
    let worst = document.documentElement.scrollWidth - window.innerWidth;
    for (const el of document.querySelectorAll('body *')) {
      if (el.tagName === 'PRE') continue;
      const o = getComputedStyle(el).overflowX;
      if (o === 'auto' || o === 'scroll') worst = Math.max(worst, el.scrollWidth - el.clientWidth);
    }
    return worst;
  })()`);
}
