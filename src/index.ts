export * from './token/index.js';
export * from './keys/index.js';
export * from './dag/index.js';
export * from './otel/index.js';
