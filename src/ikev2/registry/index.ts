export * from './names.ts';
export * from './exchange.ts';
export * from './payload.ts';
export * from './notify.ts';
export * from './transform.ts';
export * from './misc.ts';
export * from './group.ts';
