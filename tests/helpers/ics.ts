import ICAL from 'ical.js';

/** The logical content lines of an iCalendar text: CRLF-split, then unfolded. */
export function unfoldIcs(text: string): string[] {
  const logical: string[] = [];
  for (const line of text.split('\r\n')) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && logical.length > 0) logical[logical.length - 1] += line.slice(1);
    else if (line !== '') logical.push(line);
  }
  return logical;
}

/** Date-times that must be UTC (or carry a TZID with its VTIMEZONE; we use UTC). */
const TIME_PROPERTIES = ['DTSTAMP', 'DTSTART', 'DTEND'];

/**
 * Every rule of calendar.md "Bytes" that can be read off one iCalendar object. Returns the
 * broken rules (empty when all hold), so a failure names what is wrong.
 */
export function icsProblems(input: Buffer | string, { events = 1 }: { events?: number | null } = {}): string[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const problems: string[] = [];
  const text = bytes.toString('utf8');
  if (!text.endsWith('\r\n')) problems.push('the last line does not end in CRLF');

  // Physical lines, split on CRLF only: any CR or LF left inside one is bare.
  const physical: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length - 1; i += 1) {
    if (bytes[i] === 0x0d && bytes[i + 1] === 0x0a) {
      physical.push(bytes.subarray(start, i));
      start = i + 2;
      i += 1;
    }
  }
  if (start < bytes.length) physical.push(bytes.subarray(start));
  const decoder = new TextDecoder('utf-8', { fatal: true });
  physical.forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line.length > 75) problems.push(`${where} is ${line.length} octets (max 75)`);
    if (line.includes(0x0d) || line.includes(0x0a)) problems.push(`${where} holds a bare CR or LF`);
    try {
      decoder.decode(line);
    } catch {
      problems.push(`${where} is not valid UTF-8 on its own (a fold split a character)`);
    }
    if (line.length === 0) problems.push(`${where} is empty`);
    // RFC 5545 TEXT and parameter values exclude CONTROL characters (HTAB aside).
    for (const byte of line) {
      if ((byte < 0x20 && byte !== 0x09) || byte === 0x7f) {
        problems.push(`${where} holds the control character 0x${byte.toString(16).padStart(2, '0')}`);
        break;
      }
    }
  });

  const logical = unfoldIcs(text);
  if (logical[0] !== 'BEGIN:VCALENDAR') problems.push('does not start with BEGIN:VCALENDAR');
  if (logical[logical.length - 1] !== 'END:VCALENDAR') problems.push('does not end with END:VCALENDAR');

  const stack: string[] = [];
  const seenComponentIn = new Set<number>(); // depths at which a sub-component already started
  const hasTimezone = logical.includes('BEGIN:VTIMEZONE');
  for (const line of logical) {
    const name = /^[A-Za-z0-9-]+/.exec(line)?.[0]?.toUpperCase() ?? '';
    if (!/^[A-Za-z0-9-]+[;:]/.test(line)) problems.push(`not a content line: ${JSON.stringify(line.slice(0, 60))}`);
    if (name === 'BEGIN') {
      const component = line.slice(6).toUpperCase();
      if (stack.length > 0) seenComponentIn.add(stack.length);
      stack.push(component);
      continue;
    }
    if (name === 'END') {
      const component = line.slice(4).toUpperCase();
      if (stack.pop() !== component) problems.push(`END:${component} does not close the open component`);
      continue;
    }
    const depth = stack.length;
    if (depth === 0) problems.push(`property outside VCALENDAR: ${name}`);
    if (seenComponentIn.has(depth)) {
      problems.push(`${name} comes after a sub-component of ${stack[depth - 1]} (properties must come first)`);
    }
    if (TIME_PROPERTIES.includes(name)) {
      const [head, value = ''] = [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)];
      const tzid = /;TZID=([^;:]+)/i.exec(head)?.[1];
      if (tzid) {
        if (/^"?utc"?$/i.test(tzid)) problems.push(`${name} uses TZID=UTC`);
        if (!hasTimezone) problems.push(`${name} has TZID=${tzid} without a VTIMEZONE`);
      } else if (!/^\d{8}T\d{6}Z$/.test(value)) {
        problems.push(`${name} is not UTC (${value})`);
      }
    }
  }
  if (stack.length > 0) problems.push(`components left open: ${stack.join(', ')}`);

  try {
    const component = new ICAL.Component(ICAL.parse(text));
    const found = component.getAllSubcomponents('vevent').length;
    if (events !== null && found !== events) problems.push(`ical.js finds ${found} VEVENTs, not ${events}`);
  } catch (error) {
    problems.push(`ical.js cannot parse it: ${(error as Error).message}`);
  }
  return problems;
}
