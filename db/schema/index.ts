export * from './attendees.js';
export * from './audit.js';
export * from './feeds.js';
export * from './hosts.js';
export * from './notifications.js';
export * from './organizers.js';
export * from './registrations.js';
export * from './sessions.js';
