export * from './organizers.js';
export * from './sessions.js';
