import type { SessionRow } from '../../db/schema/index.js';

/**
 * What an attendee needs to know to join an online session, the same on the session page (no
 * secrets), the manage page, the join page and every e-mail that carries the join link. Pure: the
 * pages and the e-mail templates turn it into words and markup.
 */
export interface HowToJoin {
  /** "Zoom", "Microsoft Teams", ... when the meeting URL says so; null for any other address. */
  platform: string | null;
  /** A passcode found in the join instructions ("Passcode: 4321", "PIN 12 34"): shown labelled. */
  passcode: string | null;
  /** The join instructions as the organizer wrote them, when they are more than a passcode. */
  instructions: string | null;
  /** When the personal join link starts to open the meeting. */
  opensAt: Date;
  /** Minutes before the start that the link opens (the join window). */
  minutesBefore: number;
}

const PLATFORMS: Array<{ host: RegExp; name: string }> = [
  { host: /(^|\.)zoom\.(us|com)$|(^|\.)zoomgov\.com$/, name: 'Zoom' },
  { host: /(^|\.)teams\.(microsoft|live)\.com$/, name: 'Microsoft Teams' },
  { host: /^meet\.google\.com$/, name: 'Google Meet' },
  { host: /(^|\.)webex\.com$/, name: 'Webex' },
  { host: /(^|\.)gotomeeting\.com$|(^|\.)goto\.com$/, name: 'GoTo Meeting' },
  { host: /^meet\.jit\.si$/, name: 'Jitsi Meet' },
  { host: /(^|\.)whereby\.com$/, name: 'Whereby' },
];

/** The meeting platform a join URL belongs to, by its host; null when unknown or not a URL. */
export function platformOf(joinUrl: string | null): string | null {
  if (!joinUrl) return null;
  let host: string;
  try {
    host = new URL(joinUrl).hostname.toLowerCase();
  } catch {
    return null;
  }
  return PLATFORMS.find((platform) => platform.host.test(host))?.name ?? null;
}

const PASSCODE_LINE = /^\s*(?:passcode|password|pass code|meeting password|pin|access code)\s*[:#-]?\s*([A-Za-z0-9][A-Za-z0-9 .-]{0,30}?)\s*$/i;

/** The passcode of instructions that are only a passcode line ("Passcode 4321"); null otherwise. */
export function passcodeOf(instructions: string | null): string | null {
  if (!instructions) return null;
  const lines = instructions.split(/\r?\n/).filter((line) => line.trim() !== '');
  if (lines.length !== 1) return null;
  return PASSCODE_LINE.exec(lines[0]!)?.[1] ?? null;
}

export function howToJoin(session: Pick<SessionRow, 'joinUrl' | 'joinInstructions' | 'startsAt'>, minutesBefore: number): HowToJoin {
  const instructions = session.joinInstructions?.trim() || null;
  const passcode = passcodeOf(instructions);
  return {
    platform: platformOf(session.joinUrl),
    passcode,
    instructions: passcode ? null : instructions,
    opensAt: new Date(session.startsAt.getTime() - minutesBefore * 60_000),
    minutesBefore,
  };
}
