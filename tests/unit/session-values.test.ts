import t from 'tap';
import { BadRequestError, type FieldError } from '../../src/errors.js';
import { slugify, toSessionValues, type SessionInput } from '../../src/services/session-values.js';

/**
 * The session rules that JSON schema cannot express, without the HTTP layer: the route tests
 * prove each broken rule names its path; these pin the messages an organizer reads, that every
 * broken rule is reported at once, and how valid values are normalised.
 */

const NOW = new Date('2030-01-01T00:00:00Z');
const valid: SessionInput = {
  title: '  Budget hearing  ',
  startsAt: '2030-02-01T15:00:00Z',
  endsAt: '2030-02-01T16:30:00Z',
  timezone: 'America/Chicago',
  contact: { name: ' Clerk ', email: ' Clerk@City.example ' },
};

function brokenRules(input: Partial<SessionInput>): FieldError[] {
  try {
    toSessionValues({ ...valid, ...input }, NOW);
  } catch (error) {
    if (error instanceof BadRequestError) return error.errors ?? [];
    throw error;
  }
  return [];
}

t.test('a valid input becomes row values, normalised', async (t) => {
  const values = toSessionValues(
    {
      ...valid,
      audience: { kind: 'domains', domains: ['@City.Example', 'city.example', 'bücher.example'] },
      reminders: [60, 1440, 15],
      questions: [{ id: 'city', label: 'City', type: 'select', options: ['A', 'B'] }],
      followUp: { message: '  Thanks  ' },
    },
    NOW,
  );
  t.equal(values.title, 'Budget hearing');
  t.equal(values.slug, 'budget-hearing');
  t.same(values.audience, { kind: 'domains', domains: ['city.example', 'xn--bcher-kva.example'] }, 'domains in ASCII, once each');
  t.same(values.reminders, [1440, 60, 15], 'reminders latest first');
  t.same(values.questions, [{ id: 'city', label: 'City', type: 'select', options: ['A', 'B'], required: false }]);
  t.same([values.contactName, values.contactEmail], ['Clerk', 'clerk@city.example']);
  t.same(values.followUp, { message: 'Thanks', recordingUrl: null });
  t.same([values.waitlistEnabled, values.waitlistLimit, values.capacity], [true, null, null], 'defaults: an open waitlist, no capacity');
  t.same(toSessionValues(valid, NOW).reminders, [1440, 60], 'default reminders: a day and an hour before');
  t.same(toSessionValues(valid, NOW).audience, { kind: 'public' });
});

t.test('each broken rule, with the message an organizer reads', async (t) => {
  const cases: Array<[string, Partial<SessionInput>, FieldError[]]> = [
    ['unknown zone', { timezone: 'Mars/Base' }, [{ path: '/timezone', message: '"Mars/Base" is not an IANA time zone (for example America/Chicago)' }]],
    ['end before start', { endsAt: '2030-02-01T14:00:00Z' }, [{ path: '/endsAt', message: 'must be after startsAt' }]],
    ['32 days long', { endsAt: '2030-03-05T15:00:00Z' }, [{ path: '/endsAt', message: 'a session may last at most 31 days' }]],
    [
      'eleven years ahead',
      { startsAt: '2041-02-01T15:00:00Z', endsAt: '2041-02-01T16:00:00Z' },
      [{ path: '/startsAt', message: 'must be within 10 years from now' }],
    ],
    [
      'not a date',
      { startsAt: 'soon' },
      [{ path: '/startsAt', message: 'must be a date-time with an offset' }],
    ],
    [
      'window closes before it opens',
      { registrationOpensAt: '2030-01-20T00:00:00Z', registrationClosesAt: '2030-01-10T00:00:00Z' },
      [{ path: '/registrationClosesAt', message: 'must be after registrationOpensAt' }],
    ],
    [
      'window closes after the end',
      { registrationClosesAt: '2030-02-02T00:00:00Z' },
      [{ path: '/registrationClosesAt', message: 'must not be after the session ends' }],
    ],
    [
      'window opens after the end',
      { registrationOpensAt: '2030-02-01T16:30:00Z' },
      [{ path: '/registrationOpensAt', message: 'must be before the session ends' }],
    ],
    [
      'domains audience without domains, with a code',
      { audience: { kind: 'domains', domains: [], code: 'x' } },
      [
        { path: '/audience/domains', message: 'is required when audience.kind is domains' },
        { path: '/audience/code', message: 'is only allowed when audience.kind is code' },
      ],
    ],
    ['a domain that is not one', { audience: { kind: 'domains', domains: ['localhost'] } }, [{ path: '/audience/domains/0', message: '"localhost" is not a domain name' }]],
    [
      'code audience without a code, with domains',
      { audience: { kind: 'code', domains: ['city.example'] } },
      [
        { path: '/audience/code', message: 'is required when audience.kind is code' },
        { path: '/audience/domains', message: 'is only allowed when audience.kind is domains' },
      ],
    ],
    [
      'public audience with domains and a code',
      { audience: { kind: 'public', domains: ['city.example'], code: 'x' } },
      [
        { path: '/audience/domains', message: 'is only allowed when audience.kind is domains' },
        { path: '/audience/code', message: 'is only allowed when audience.kind is code' },
      ],
    ],
    [
      'questions',
      {
        questions: [
          { id: 'a', label: 'A', type: 'select', options: [] },
          { id: 'a', label: 'B', type: 'select', options: ['x', 'x'] },
          { id: 'c', label: 'C', type: 'text', options: ['x'] },
        ],
      },
      [
        { path: '/questions/0/options', message: 'a select question needs options' },
        { path: '/questions/1/id', message: 'duplicate question id "a"' },
        { path: '/questions/1/options', message: 'options must be unique' },
        { path: '/questions/2/options', message: 'only select questions have options' },
      ],
    ],
    ['repeated reminder', { reminders: [60, 60] }, [{ path: '/reminders', message: 'offsets must be unique' }]],
    ['plain http meeting link', { joinUrl: 'http://meet.example/x' }, [{ path: '/joinUrl', message: 'must be an https URL' }]],
    ['meeting link with credentials', { joinUrl: 'https://me:pw@meet.example/x' }, [{ path: '/joinUrl', message: 'must not contain credentials' }]],
    [
      'recording that is not a URL',
      { followUp: { message: 'Thanks', recordingUrl: 'recording' } },
      [{ path: '/followUp/recordingUrl', message: 'must be an https URL' }],
    ],
  ];
  for (const [label, input, expected] of cases) t.same(brokenRules(input), expected, label);
});

t.test('every broken rule is reported at once, in the order of the form', async (t) => {
  const paths = brokenRules({ timezone: 'Nowhere', registrationClosesAt: '2031-01-01T00:00:00Z', audience: { kind: 'code' }, reminders: [5, 5], joinUrl: 'ftp://x' }).map(
    (error) => error.path,
  );
  t.same(paths, ['/timezone', '/registrationClosesAt', '/audience/code', '/reminders', '/joinUrl']);
});

t.test('slugs: ASCII words, at most 80 characters, never empty', async (t) => {
  t.equal(slugify('Réunion: Q&A — Part 1'), 'reunion-q-a-part-1');
  t.equal(slugify('😀😀'), 'session');
  t.equal(slugify(`${'a'.repeat(79)} b`), 'a'.repeat(79), 'no trailing dash after the cut');
});
