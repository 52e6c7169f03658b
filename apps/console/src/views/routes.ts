import type { ComponentType } from 'react';
import { DisksView } from './DisksView';
import { FailoverView } from './FailoverView';
import { HealthView } from './HealthView';
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
  { path: 'failover', title: 'Failover', component: FailoverView },
];

/** The view of a location hash such as `#/failover`; an unknown one is the first view. */
export function viewOf(hash: string): View {
  const path = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return VIEWS.find((v) => v.path === path) ?? VIEWS[0]!;
}
