import type { ComponentType } from 'react';
import { CoherenceView } from './CoherenceView';
import { DisksView } from './DisksView';
import { FailoverView } from './FailoverView';
import { HealthView } from './HealthView';
import { HostsView } from './HostsView';
import { InspectionsView } from './InspectionsView';
import { MigrationsView } from './MigrationsView';
import { VmsView } from './VmsView';

export interface View {
  path: string;
  title: string;
  component: ComponentType;
}

/** The console's views, in the navigation's order; the first is the default. */
export const VIEWS: View[] = [
  { path: 'health', title: 'Health', component: HealthView },
  { path: 'vms', title: 'VMs and templates', component: VmsView },
  { path: 'disks', title: 'Disks', component: DisksView },
  { path: 'inspections', title: 'Inspections', component: InspectionsView },
  { path: 'failover', title: 'Failover', component: FailoverView },
  { path: 'migrations', title: 'Migrations', component: MigrationsView },
  { path: 'hosts', title: 'Hosts and placement', component: HostsView },
  { path: 'coherence', title: 'Coherence', component: CoherenceView },
];

/** The view of a location hash such as `#/failover`; an unknown one is the first view. */
export function viewOf(hash: string): View {
  const path = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return VIEWS.find((v) => v.path === path) ?? VIEWS[0]!;
}
