export * from './infra';
export * from './processes';
export * from './config-docs';
