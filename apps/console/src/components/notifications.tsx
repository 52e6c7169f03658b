import { Alert, AlertActionCloseButton, AlertGroup } from '@patternfly/react-core';
import { createContext, useCallback, useContext, useMemo, useState } from 'react';
import type { ReactNode } from 'react';

export interface Notice {
  variant: 'success' | 'danger' | 'warning' | 'info';
  title: string;
  body?: ReactNode;
}

/**
 * How long a toast stays (hovering keeps it): it covers the right of the page, where row actions are,
 * and whatever it says that must stay (a failed cleanup's report) the view shows inline as well.
 */
const NOTICE_MS = 8000;

const NoticeContext = createContext<(notice: Notice) => void>(() => undefined);

/** Toast notifications (success of a job, a refused request); each can be closed. */
export function Notifications({ children }: { children: ReactNode }) {
  const [notices, setNotices] = useState<(Notice & { key: number })[]>([]);
  const notify = useCallback((notice: Notice) => {
    setNotices((n) => [...n, { ...notice, key: Date.now() + Math.random() }]);
  }, []);
  const close = (key: number) => setNotices((n) => n.filter((x) => x.key !== key));
  const value = useMemo(() => notify, [notify]);
  return (
    <NoticeContext.Provider value={value}>
      {children}
      <AlertGroup isToast isLiveRegion>
        {notices.map((n) => (
          <Alert
            key={n.key}
            variant={n.variant}
            title={n.title}
            timeout={NOTICE_MS}
            onTimeout={() => close(n.key)}
            actionClose={<AlertActionCloseButton onClose={() => close(n.key)} />}
          >
            {n.body}
          </Alert>
        ))}
      </AlertGroup>
    </NoticeContext.Provider>
  );
}

export function useNotify(): (notice: Notice) => void {
  return useContext(NoticeContext);
}
