import { Eta } from 'eta';
import { escapeHtml } from '../../text.js';
import { CONSOLE_TEMPLATES } from './templates.js';

/**
 * The console's template engine: escaping on by default, templates compiled once. Pages of
 * other files add their own templates with `addConsoleTemplates` (at module load), and may
 * include the shared partials `@console-field`, `@console-errors` and `@console-csrf`.
 */
const eta = new Eta({
  autoEscape: true,
  autoTrim: [false, 'nl'],
  cache: true,
  escapeFunction: (value: unknown) => (value === null || value === undefined ? '' : escapeHtml(String(value))),
});

const loaded = new Set<string>();

/** Loads templates by name (each name once; a second one with the same name is a programming error). */
export function addConsoleTemplates(templates: Record<string, string>): void {
  for (const [name, template] of Object.entries(templates)) {
    if (loaded.has(name)) throw new Error(`console template ${name} is already loaded`);
    if (!name.startsWith('@')) throw new Error(`console template names start with @ (got ${name})`);
    eta.loadTemplate(name, template);
    loaded.add(name);
  }
}

addConsoleTemplates(CONSOLE_TEMPLATES);

/** Renders a loaded template with its data. */
export function renderConsoleTemplate(name: string, data: object): string {
  return eta.render(name, data);
}
