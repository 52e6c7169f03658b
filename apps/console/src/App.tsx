import {
  Button,
  Label,
  Masthead,
  MastheadBrand,
  MastheadContent,
  MastheadMain,
  Nav,
  NavItem,
  NavList,
  Page,
  PageSidebar,
  PageSidebarBody,
  Spinner,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import { useEffect, useState } from 'react';
import { Notifications } from './components/notifications';
import { LiveProvider, useLive } from './live/events';
import { SessionProvider, useSession } from './session';
import { SignIn } from './views/SignIn';
import { VIEWS, viewOf } from './views/routes';

export function App() {
  return (
    <SessionProvider>
      <Gate />
    </SessionProvider>
  );
}

function Gate() {
  const { session, loading } = useSession();
  if (loading) return <Spinner aria-label="Loading" />;
  if (!session) return <SignIn />;
  return (
    <LiveProvider>
      <Notifications>
        <Shell />
      </Notifications>
    </LiveProvider>
  );
}

/** The view named by the URL's hash (`#/failover`), so that a reload or a link keeps it. */
function useHashView() {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const changed = () => setHash(window.location.hash);
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return viewOf(hash);
}

const CONNECTION = {
  connecting: { color: 'grey', text: 'Connecting…' },
  live: { color: 'green', text: 'Live' },
  lost: { color: 'orange', text: 'Connection lost — reconnecting' },
  ended: { color: 'red', text: 'Disconnected' },
} as const;

function Shell() {
  const { session, signOut } = useSession();
  const { connection } = useLive();
  const view = useHashView();
  const shown = CONNECTION[connection];
  const masthead = (
    <Masthead>
      <MastheadMain>
        <MastheadBrand>
          <strong style={{ fontSize: '1.25rem' }}>Ferry</strong>
        </MastheadBrand>
      </MastheadMain>
      <MastheadContent>
        <Toolbar isFullHeight>
          <ToolbarContent>
            <ToolbarItem>
              <Label color={shown.color} aria-live="polite" data-testid="connection">
                {shown.text}
              </Label>
            </ToolbarItem>
            <ToolbarItem>
              <Label data-testid="who">
                {session!.name} · {session!.role}
              </Label>
            </ToolbarItem>
            <ToolbarItem>
              <Button variant="secondary" onClick={() => void signOut()}>
                Sign out
              </Button>
            </ToolbarItem>
          </ToolbarContent>
        </Toolbar>
      </MastheadContent>
    </Masthead>
  );
  const sidebar = (
    <PageSidebar>
      <PageSidebarBody>
        <Nav aria-label="Views">
          <NavList>
            {VIEWS.map((v) => (
              <NavItem key={v.path} to={`#/${v.path}`} isActive={v.path === view.path}>
                {v.title}
              </NavItem>
            ))}
          </NavList>
        </Nav>
      </PageSidebarBody>
    </PageSidebar>
  );
  const View = view.component;
  return (
    <Page masthead={masthead} sidebar={sidebar} isManagedSidebar>
      <View />
    </Page>
  );
}
