import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';

/** A CloudEvent as GET /api/v1/events streams it. */
export interface FerryEvent {
  id: string;
  type: string;
  subject?: string;
  time?: string;
  data: unknown;
}

export type Connection = 'connecting' | 'live' | 'lost' | 'ended';
type Listener = (event: FerryEvent) => void;

interface Live {
  connection: Connection;
  subscribe(types: readonly string[], listener: Listener): () => void;
}

const LiveContext = createContext<Live | null>(null);

/**
 * One event stream for the whole console (a key may hold only EVENTS_MAX_STREAMS_PER_KEY): views
 * subscribe to event types (each is the SSE event name). EventSource reconnects by itself and resumes
 * with Last-Event-ID, so a dropped connection loses nothing; meanwhile the masthead says it is lost.
 */
export function LiveProvider({ children }: { children: ReactNode }) {
  const [connection, setConnection] = useState<Connection>('connecting');
  const source = useRef<EventSource | null>(null);
  const listeners = useRef(new Map<string, Set<Listener>>());

  const listen = useCallback((es: EventSource, type: string) => {
    es.addEventListener(type, (message) => {
      const event = JSON.parse((message as MessageEvent<string>).data) as FerryEvent;
      for (const l of listeners.current.get(type) ?? []) l(event);
    });
  }, []);

  useEffect(() => {
    const es = new EventSource('/api/v1/events');
    source.current = es;
    for (const type of listeners.current.keys()) listen(es, type);
    es.onopen = () => setConnection('live');
    es.onerror = () => setConnection(es.readyState === EventSource.CLOSED ? 'ended' : 'lost');
    es.addEventListener('revoked', () => {
      setConnection('ended');
      es.close();
    });
    return () => {
      es.close();
      source.current = null;
    };
  }, [listen]);

  const subscribe = useCallback(
    (types: readonly string[], listener: Listener) => {
      for (const type of types) {
        let set = listeners.current.get(type);
        if (!set) {
          set = new Set();
          listeners.current.set(type, set);
          if (source.current) listen(source.current, type);
        }
        set.add(listener);
      }
      return () => {
        for (const type of types) listeners.current.get(type)?.delete(listener);
      };
    },
    [listen],
  );

  const value = useMemo(() => ({ connection, subscribe }), [connection, subscribe]);
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export function useLive(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error('useLive outside LiveProvider');
  return live;
}

/** Calls `listener` for every event of one of `types` while the component is mounted. */
export function useEvents(types: readonly string[], listener: Listener): void {
  const { subscribe } = useLive();
  const latest = useRef(listener);
  latest.current = listener;
  const key = types.join(',');
  useEffect(() => subscribe(key.split(','), (e) => latest.current(e)), [subscribe, key]);
}
