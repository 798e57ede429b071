/**
 * The consent wording shown on every registration form. Its version is stored with each
 * registration, so a changed wording gets a new version and old consents stay attributable.
 */
export const CONSENT = {
  version: '2026-11-26',
  text:
    'I agree that the organisers store my name, e-mail address, organisation and answers to manage my registration ' +
    'for this session and to send me e-mails about it. Other attendees never see my details.',
} as const;
