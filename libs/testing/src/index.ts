export * from './infra';
export * from './processes';
export * from './config-docs';
export * from './libvirtd';
export * from './vcsim';
export * from './guest-image';
export * from './postgres-server';
export * from './bootable-guest';
