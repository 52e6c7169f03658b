import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MigrationReport } from './MigrationsView';

describe('MigrationReport', () => {
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it('asks for the Markdown report only when opened, and shows it', async () => {
    const fetchMock = vi.fn(
      async (_request: Request) =>
        new Response('# Migration of web\n\n## Fixes\n- fstab by-path → UUID', {
          status: 200,
          headers: { 'content-type': 'text/markdown' },
        }),
    );
    vi.stubGlobal('fetch', fetchMock);
    render(<MigrationReport id="11111111-1111-4111-8111-111111111111" />);
    expect(fetchMock).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole('button', { name: 'Plan and fix report' }));
    await waitFor(() => expect(screen.getByText(/fstab by-path → UUID/)).toBeTruthy());
    const request = fetchMock.mock.calls[0]![0];
    expect(new URL(request.url).pathname).toBe(
      '/api/v1/migrations/11111111-1111-4111-8111-111111111111/report',
    );
    expect(request.headers.get('accept')).toBe('text/markdown');
  });

  it('shows the problem when the report cannot be had', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(
        async () =>
          new Response(JSON.stringify({ status: 404, code: 'NOT_FOUND', detail: 'migration m not found' }), {
            status: 404,
            headers: { 'content-type': 'application/problem+json' },
          }),
      ),
    );
    render(<MigrationReport id="m" />);
    fireEvent.click(screen.getByRole('button', { name: 'Plan and fix report' }));
    await waitFor(() => expect(screen.getByText('migration m not found')).toBeTruthy());
  });
});
