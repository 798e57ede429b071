import { Eta } from 'eta';
import { DEFAULT_BRANDING, type Branding } from '../services/settings.service.js';
import { escapeHtml } from '../text.js';
import type { JoinPageData } from './join-views.js';
import { SERIES_TEMPLATES } from './series-templates.js';
import type { SeriesPageData, SeriesRegisteredData } from './series-views.js';
import { TEMPLATES } from './templates.js';
import type { CancelData, IndexData, ManageData, MessageData, RegisteredData, SessionPageData } from './views.js';

/** One engine for every page: escaping on by default, templates compiled once at start. */
const eta = new Eta({
  autoEscape: true,
  autoTrim: [false, 'nl'],
  cache: true,
  escapeFunction: (value: unknown) => (value === null || value === undefined ? '' : escapeHtml(String(value))),
});
for (const [name, template] of Object.entries({ ...TEMPLATES, ...SERIES_TEMPLATES })) eta.loadTemplate(name, template);

interface PageData {
  '@index': IndexData;
  '@session': SessionPageData;
  '@embed': SessionPageData;
  '@registered': RegisteredData;
  '@manage': ManageData;
  '@cancel': CancelData;
  '@message': MessageData;
  '@join': JoinPageData;
  '@series': SeriesPageData;
  '@series-registered': SeriesRegisteredData;
}

/** `brand` in the data is the organisation's branding (services.settings.branding()); the default until it is passed. */
export function renderPage<K extends keyof PageData>(name: K, data: PageData[K] & { brand?: Branding }): string {
  return eta.render(name, { brand: DEFAULT_BRANDING, ...(data as object) });
}
