import t from 'tap';
import type { Question } from '../../db/schema/index.js';
import type { FieldError } from '../../src/errors.js';
import { validateAnswers } from '../../src/services/registrations/answers.js';

const questions: Question[] = [
  { id: 'agree', label: 'I agree', type: 'checkbox', required: true, options: [] },
  { id: 'lunch', label: 'Lunch', type: 'checkbox', required: false, options: [] },
  { id: 'city', label: 'City', type: 'text', required: true, options: [] },
  { id: 'notes', label: 'Notes', type: 'textarea', required: false, options: [] },
  { id: 'role', label: 'Role', type: 'select', required: false, options: ['Mayor', 'Clerk'] },
] as Question[];

function check(raw: Record<string, string | boolean>) {
  const errors: FieldError[] = [];
  const answers = validateAnswers(questions, raw, errors);
  return { answers, errors };
}

const valid = { agree: true, city: 'Austin' };

t.test('checkboxes: booleans, or the words a form sends', async (t) => {
  for (const word of ['true', 'on', 'YES', '1']) t.equal(check({ ...valid, lunch: word }).answers.lunch, true, `"${word}" ticks`);
  for (const word of ['false', 'off', 'No', '0', '']) t.equal(check({ ...valid, lunch: word }).answers.lunch, false, `"${word}" unticks`);
  t.equal(check({ ...valid, lunch: false }).answers.lunch, false);
  t.notOk('lunch' in check(valid).answers, 'an unanswered checkbox is not stored');
  t.same(check({ ...valid, lunch: 'maybe' }).errors, [{ path: '/answers/lunch', message: 'must be true or false' }]);
  t.same(check({ ...valid, agree: 'off' }).errors, [{ path: '/answers/agree', message: 'must be checked' }], 'a required box unticked');
  t.same(
    check({ ...valid, agree: 'maybe' }).errors,
    [
      { path: '/answers/agree', message: 'must be true or false' },
      { path: '/answers/agree', message: 'must be checked' },
    ],
    'a required box with a wrong word: both',
  );
});

t.test('required text, normalised: one line, NFC, trimmed', async (t) => {
  t.same(check({ agree: true }).errors, [{ path: '/answers/city', message: 'is required' }]);
  t.same(check({ agree: true, city: ' \t\r\n ' }).errors, [{ path: '/answers/city', message: 'is required' }], 'only spaces is nothing');
  t.equal(check({ ...valid, city: '  San\r\nAntonio\u2028 TX ' }).answers.city, 'San Antonio TX');
  t.equal(check({ ...valid, city: 'Cafe\u0301' }).answers.city, 'Caf\u00e9', 'NFC');
  t.equal(check({ ...valid, notes: ' line one\r\nline\ttwo ' }).answers.notes, 'line one\nline two', 'a textarea keeps its line breaks');
  t.same(check({ ...valid, city: true }).errors, [{ path: '/answers/city', message: 'must be text' }]);
});

t.test('lengths: 500 for a line, 5000 for a textarea', async (t) => {
  t.same(check({ ...valid, city: 'x'.repeat(500) }).errors, []);
  t.same(check({ ...valid, city: 'x'.repeat(501) }).errors, [{ path: '/answers/city', message: 'must be at most 500 characters' }]);
  t.same(check({ ...valid, notes: 'x'.repeat(5000) }).errors, []);
  t.same(check({ ...valid, notes: 'x'.repeat(5001) }).errors, [{ path: '/answers/notes', message: 'must be at most 5000 characters' }]);
});

t.test('select options', async (t) => {
  t.equal(check({ ...valid, role: ' Clerk ' }).answers.role, 'Clerk');
  t.same(check({ ...valid, role: 'clerk' }).errors, [{ path: '/answers/role', message: 'must be one of: Mayor, Clerk' }], 'exact options only');
});

t.test('unknown keys', async (t) => {
  t.same(check({ ...valid, shoe: '42' }).errors, [{ path: '/answers/shoe', message: 'is not a question of this session' }]);
  t.same(check({ ...valid, shoe: '42' }).answers, { agree: true, city: 'Austin' }, 'and nothing of them is kept');
});
