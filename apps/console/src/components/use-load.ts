import { useCallback, useEffect, useState } from 'react';

/** Loads once and on `reload()`; `error` holds the problem's text when it failed. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[] = []) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(load, deps);
  const reload = useCallback(() => {
    run().then(
      (d) => {
        setData(d);
        setError(null);
      },
      (err: Error) => setError(err.message),
    );
  }, [run]);
  useEffect(reload, [reload]);
  return { data, setData, error, reload };
}
