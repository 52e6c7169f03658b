import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import type { Schemas } from './api/client';
import { api, problemText, useCsrfToken, whenSignedOut } from './api/client';

export type Session = Schemas['SessionDto'];
export type Role = Session['role'];

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether `role` may press a button that needs `required` (the gateway checks it again). */
export function may(role: Role | undefined, required: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[required];
}

interface SessionState {
  session: Session | null;
  /** True until the first GET /session has answered. */
  loading: boolean;
  signIn(key: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error('useSession outside SessionProvider');
  return state;
}

/** The signed-in user: the key is sent once, to POST /session; afterwards only the cookie travels. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(null);
  const [loading, setLoading] = useState(true);

  const adopt = useCallback((s: Session | null) => {
    useCsrfToken(s?.csrf_token);
    setSession(s);
  }, []);

  useEffect(() => {
    whenSignedOut(() => adopt(null));
    void api.GET('/api/v1/session').then(({ data }) => {
      adopt(data ?? null);
      setLoading(false);
    });
  }, [adopt]);

  const signIn = useCallback(
    async (key: string) => {
      const { data, error } = await api.POST('/api/v1/session', { body: { key: key.trim() } });
      if (!data) throw new Error(problemText(error));
      adopt(data);
    },
    [adopt],
  );

  const signOut = useCallback(async () => {
    await api.DELETE('/api/v1/session');
    adopt(null);
  }, [adopt]);

  const value = useMemo(() => ({ session, loading, signIn, signOut }), [session, loading, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
