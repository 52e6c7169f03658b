import {
  Button,
  Label,
  Masthead,
  MastheadBrand,
  MastheadContent,
  MastheadMain,
  MastheadToggle,
  Nav,
  NavItem,
  NavList,
  Page,
  PageContext,
  PageSidebar,
  PageSidebarBody,
  PageToggleButton,
  Spinner,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import { useContext, useEffect, useState } from 'react';
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
        {/* Below 1200 px the navigation folds away; this opens it (PatternFly's managed sidebar). */}
        <MastheadToggle>
          <PageToggleButton isHamburgerButton aria-label="Navigation" />
        </MastheadToggle>
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
        <ViewsNav active={view.path} />
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

/** The views' navigation; on a narrow window, where it lies over the page, choosing a view folds it. */
function ViewsNav({ active }: { active: string }) {
  const { isMobile, isSidebarOpen, onSidebarToggle } = useContext(PageContext);
  return (
    <Nav aria-label="Views" onSelect={() => isMobile && isSidebarOpen && onSidebarToggle()}>
      <NavList>
        {VIEWS.map((v) => (
          <NavItem key={v.path} to={`#/${v.path}`} isActive={v.path === active}>
            {v.title}
          </NavItem>
        ))}
      </NavList>
    </Nav>
  );
}
